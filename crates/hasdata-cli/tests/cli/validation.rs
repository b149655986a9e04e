//! Bodies are checked by evidence before anything is sent: documented rules exit 2 with
//! nothing sent, the rest are warnings on stderr (and under `warnings` with `--json`) and the
//! body goes as written; `--strict` refuses warnings, `--no-validate` checks nothing.

use crate::{Shell, fast};

const OVER_STRICT: &str = r#"{"urls": ["https://docs.example.com"], "maxDepth": "3", "limit": "10", "proxyCountry": "ES"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_are_printed_and_the_body_is_sent() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", OVER_STRICT);
    let ran = shell.run(&["submit", "crawler", "--body", &body]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for path in ["maxDepth", "limit", "proxyCountry"] {
        assert!(
            ran.stderr.contains(&format!("hasdata: warning: {path}: ")),
            "{path}: {}",
            ran.stderr
        );
    }
    assert!(ran.stderr.contains("[I]"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 1);

    let json = shell
        .run(&["--json", "submit", "crawler", "--body", &body])
        .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let out = &json.json_lines()[0];
    let paths: Vec<&str> = out["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["maxDepth", "proxyCountry", "limit"]);
    assert_eq!(out["warnings"][0]["evidence"], "I");

    let quiet = shell
        .run(&["-q", "submit", "crawler", "--body", &body])
        .await;
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
    assert_eq!(shell.sim.submits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_refuses_warnings_and_errors_name_every_problem() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", OVER_STRICT);
    let ran = shell
        .run(&["submit", "crawler", "--strict", "--body", &body])
        .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("proxyCountry"), "{}", ran.stderr);
    let run = shell
        .run(&fast(&["run", "crawler", "--strict", "--body", &body]))
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);

    let four = shell.file(
        "four.json",
        r#"{"urls": ["not a url", "ftp://x", ""], "limit": -5}"#,
    );
    let ran = shell.run(&["submit", "contacts", "--body", &four]).await;
    assert_eq!(ran.code, 2);
    for path in ["urls[0]", "urls[1]", "urls[2]", "limit"] {
        assert!(
            ran.stderr.contains(&format!("error: {path}: ")),
            "{path}: {}",
            ran.stderr
        );
    }
    let empty = shell.file("empty.json", "{}");
    let ran = shell.run(&["submit", "contacts", "--body", &empty]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("needs `urls`"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_validate_sends_the_body_and_shows_the_servers_answer() {
    let shell = Shell::quick().await;
    let empty = shell.file("empty.json", "{}");
    let ran = shell
        .run(&["submit", "contacts", "--no-validate", "--body", &empty])
        .await;
    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr.contains("HTTP 422"),
        "the server's own answer: {}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("nothing was sent"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_lines_carry_their_warnings_and_one_error_stops_the_file() {
    let shell = Shell::quick().await;
    let lines = shell.file(
        "bodies.jsonl",
        &format!("{OVER_STRICT}\n{{\"urls\": [\"https://a.example\"]}}\n"),
    );
    let ran = shell
        .run(&["--json", "submit", "crawler", "--bodies", &lines])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("line 1: warning: proxyCountry"),
        "{}",
        ran.stderr
    );
    let outs = ran.json_lines();
    let first = outs.iter().find(|o| o["line"] == 1).unwrap();
    assert_eq!(first["warnings"].as_array().unwrap().len(), 3);
    let second = outs.iter().find(|o| o["line"] == 2).unwrap();
    assert!(second.get("warnings").is_none(), "{second}");
    assert_eq!(shell.sim.submits(), 2);

    let broken = shell.file(
        "broken.jsonl",
        &format!("{OVER_STRICT}\n{{\"urls\": []}}\n"),
    );
    let ran = shell.run(&["submit", "crawler", "--bodies", &broken]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("line 2"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 2, "no line of a broken file is sent");
}
