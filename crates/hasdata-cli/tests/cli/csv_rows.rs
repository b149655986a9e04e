//! CSV of rows a real server may send that the simulator never does, served by a loopback
//! server of the test's own: a finished job whose `data.json` holds the given bytes.

use crate::Shell;
use crate::loopback::{Reply, serve};

/// A loopback API with one finished job of `rows` rows whose `data.json` is `file`. Returns
/// its base URL.
async fn one_job_server(rows: u64, file: &'static [u8]) -> String {
    serve(move |base, request| {
        let path = request.path();
        if path == "/files/data.json" {
            Reply::ok(file)
        } else if let Some(id) = path.strip_prefix("/scrapers/jobs/") {
            let job = serde_json::json!({
                "id": id.parse::<u64>().unwrap_or(1),
                "status": "finished",
                "dataRowsCount": rows,
                "creditsSpent": 1,
                "data": {"json": format!("{base}/files/data.json")},
                "input": {"urls": ["https://a.example"]},
            });
            Reply::ok(job.to_string())
        } else {
            Reply::status("404 Not Found", "{}")
        }
    })
    .await
}

/// `hasdata results 7 --format csv --out OUT` against `base`.
async fn results_csv(shell: &Shell, base: &str, out: &str) -> crate::Ran {
    shell
        .run(&[
            "--base-url",
            base,
            "results",
            "7",
            "--format",
            "csv",
            "--out",
            out,
        ])
        .await
}

/// Half a UTF-16 surrogate pair escaped alone (`\ud800`, valid JSON: what a scraper that cut
/// a page's text inside an emoji sends) has no UTF-8 form. The CSV writes it as U+FFFD and
/// says so once; a whole pair is the character; JSON lines keep the row as sent. It was exit 1
/// with no CSV at all, misnamed as a write error ("cannot write FILE: unexpected end of hex
/// escape at line 1 column 8").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_escape_is_written_as_the_replacement_character() {
    let shell = Shell::quick().await;
    let base = one_job_server(
        3,
        br#"[{"s":"ok"},{"s":"a\ud800b","\udc00k":"\ud83d\ude00"},{"s":"\ud83d\ud83d\ude00"}]"#,
    )
    .await;
    let out = shell.path("rows.csv").display().to_string();
    let ran = results_csv(&shell, &base, &out).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "s,\u{fffd}k\nok,\na\u{fffd}b,\u{1f600}\n\u{fffd}\u{1f600},\n"
    );
    assert!(
        ran.stderr.contains("U+FFFD") && ran.stderr.contains("count=3"),
        "{}",
        ran.stderr
    );

    let ran = shell
        .run(&["--base-url", &base, "results", "7", "--format", "jsonl"])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        "{\"s\":\"ok\"}\n{\"s\":\"a\\ud800b\",\"\\udc00k\":\"\\ud83d\\ude00\"}\n{\"s\":\"\\ud83d\\ud83d\\ude00\"}\n"
    );
}

/// A row that is not an object has no keys to be columns: the CSV is refused, naming the row
/// and the job, and nothing is written under the name; JSON lines write the row as sent. It was
/// a line of empty cells, with exit 0: the row's value lost from an export that said it was whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_is_not_an_object_is_refused_in_csv_not_written_empty() {
    let shell = Shell::quick().await;
    let base = one_job_server(3, br#"[{"a":1},[1,"x"],{"a":3}]"#).await;
    let out = shell.path("rows.csv").display().to_string();
    let ran = results_csv(&shell, &base, &out).await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let error = ran.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("row 2 is an array, not a JSON object")
            && error.contains("--format jsonl")
            && error.contains("job 7")
            && !error.contains("cannot write"),
        "{}",
        ran.stderr
    );
    assert!(!std::path::Path::new(&out).exists());

    let ran = shell
        .run(&["--base-url", &base, "results", "7", "--format", "jsonl"])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, "{\"a\":1}\n[1,\"x\"]\n{\"a\":3}\n");
}

/// The CSV's rows are spooled in the temporary directory (`TMPDIR`, often a small tmpfs) until
/// its columns are known: a spool that cannot be written names that directory, not the target.
/// It read "cannot write rows.csv: No space left on device" (or "No such file or directory"),
/// pointing at a disk with room to spare.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_that_cannot_be_written_names_the_temporary_directory_not_the_target() {
    let shell = Shell::quick().await;
    let base = one_job_server(2, br#"[{"a":1},{"a":2}]"#).await;
    let out = shell.path("rows.csv").display().to_string();
    let tmp = shell.path("no-such-tmp").display().to_string();
    let mut command = shell.command(&[
        "--base-url",
        &base,
        "results",
        "7",
        "--format",
        "csv",
        "--out",
        &out,
    ]);
    command.env("TMPDIR", &tmp);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains(&format!("cannot spool the rows in {tmp}"))
            && error.contains("TMPDIR")
            && !error.contains("rows.csv"),
        "{stderr}"
    );
    assert!(!std::path::Path::new(&out).exists());
}
