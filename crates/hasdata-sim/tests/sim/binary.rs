//! The `hasdata-sim` binary prints a base URL and a key that a client can use as is.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_a_working_base_url_and_key() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_hasdata-sim"))
            .args([
                "--port",
                "0",
                "--api-key",
                "demo-key",
                "--job-duration",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let (mut base, mut key) = (None, None);
    while base.is_none() || key.is_none() {
        let line = lines
            .next()
            .expect("the simulator printed its address")
            .unwrap();
        if let Some(url) = line.strip_prefix("base URL: ") {
            base = Some(url.to_owned());
        }
        if let Some(k) = line.strip_prefix("api key: ") {
            key = Some(k.to_owned());
        }
    }
    let (base, key) = (base.unwrap(), key.unwrap());
    assert_eq!(key, "demo-key");
    let http = crate::http_client();
    let record: Value = http
        .post(format!("{base}/scrapers/contacts/jobs"))
        .header("x-api-key", &key)
        .json(&json!({"urls": ["https://example.com/about"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status: Value = http
        .get(format!("{base}/scrapers/jobs/{}", record["id"]))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "finished");
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_hasdata-sim"))
        .args(["--port", "0", "--faults", "503=7"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--faults"));
}
