//! Shell completions and manual pages, generated from the clap definitions.

use crate::Shell;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_every_shell_know_the_commands_and_flags() {
    let shell = Shell::quick().await;
    for (name, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef hasdata"),
        ("fish", "complete -c hasdata"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let ran = shell.run(&["completions", name]).await;
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        assert!(ran.stdout.contains(marker), "{name}: no {marker:?}");
        for word in ["submit", "resume", "api-key-file", "secret-file"] {
            assert!(ran.stdout.contains(word), "{name}: no {word:?}");
        }
    }
    let ran = shell.run(&["completions", "tcsh"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("tcsh"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_man_page_comes_from_the_same_definitions() {
    let shell = Shell::quick().await;
    let ran = shell.run(&["man"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with(".ie"),
        "{}",
        &ran.stdout[..80.min(ran.stdout.len())]
    );
    assert!(ran.stdout.contains(".TH hasdata 1"), "no title");
    // roff escapes hyphens in option names.
    assert!(ran.stdout.contains("api\\-key\\-file"), "no --api-key-file");
    assert!(ran.stdout.contains("Exit codes"), "no exit codes");

    let dir = shell.path("man");
    let ran = shell.run(&["man", "--dir", dir.to_str().unwrap()]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for page in [
        "hasdata.1",
        "hasdata-submit.1",
        "hasdata-jobs-list.1",
        "hasdata-webhook-listen.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is no man page");
    }
    let listen = std::fs::read_to_string(dir.join("hasdata-webhook-listen.1")).unwrap();
    assert!(
        listen.contains("secret\\-header\\-name"),
        "listen page lacks its flags"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_exit_code_1_and_global_options_under_their_own_heading() {
    let shell = Shell::quick().await;
    let ran = shell.run(&["--help"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("  1    any other error"),
        "{}",
        ran.stdout
    );
    let ran = shell.run(&["submit", "--help"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (own, global) = ran
        .stdout
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no global heading: {}", ran.stdout));
    assert!(
        own.contains("--bodies") && !own.contains("--api-key"),
        "{own}"
    );
    assert!(
        global.contains("--api-key-file") && global.contains("--ledger"),
        "{global}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_no_colour_codes_into_a_pipe() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let ran = shell.run(&["-vv", "status", &id]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.is_empty(), "-vv logged nothing");
    assert!(
        !ran.stderr.contains('\u{1b}'),
        "escape codes: {:?}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_row_is_one_row() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&crate::fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    assert!(
        waited.stdout.contains("finished · 1 row · 5 credits"),
        "{}",
        waited.stdout
    );
    let resumed = shell
        .run(&crate::fast(&["jobs", "resume", "--dir", "out"]))
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stdout.contains("· 1 row written to"),
        "{}",
        resumed.stdout
    );
    assert!(!resumed.stdout.contains("1 rows"), "{}", resumed.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_wait_says_each_status_change_once() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&crate::fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let finished: Vec<&str> = waited
        .stderr
        .lines()
        .filter(|line| line.starts_with(&format!("job {id}: finished")))
        .collect();
    assert_eq!(finished.len(), 1, "{}", waited.stderr);
    // Status changes only: no two lines in a row for the same status.
    let statuses: Vec<&str> = waited
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&format!("job {id}: ")))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert!(statuses.windows(2).all(|w| w[0] != w[1]), "{statuses:?}");

    let quiet = shell.run(&crate::fast(&["-q", "wait", &id])).await;
    assert!(!quiet.stderr.contains("job "), "{}", quiet.stderr);
    let json = shell.run(&crate::fast(&["--json", "wait", &id])).await;
    assert!(!json.stderr.contains("job "), "{}", json.stderr);
}
