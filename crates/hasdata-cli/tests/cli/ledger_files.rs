//! `--ledger` values that name a ledger which is not there, cannot be reached or cannot be
//! written: an error naming the flag and the file (or the server), never a silently empty
//! ledger, a new file where the user did not mean one, or a POST whose job cannot be recorded.

use std::path::Path;

use crate::{KEY, Shell};

/// Runs `hasdata args` with `env` set (and `HASDATA_LEDGER` removed when `ledger_env` is
/// false), returning (exit code, stdout, stderr).
async fn run_with(
    shell: &Shell,
    args: &[&str],
    env: &[(&str, &Path)],
    ledger_env: bool,
) -> (Option<i32>, String, String) {
    let mut command = shell.command(args);
    if !ledger_env {
        command.env_remove("HASDATA_LEDGER");
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key leaked"
    );
    (output.status.code(), stdout, stderr)
}

/// A mistyped `--ledger` path (a file that is not there, in a directory that is or is not)
/// given to a command that only reads the ledger: exit 2 naming the flag and the path, and
/// no file or directory made. It listed nothing with exit 0 and left an empty ledger behind,
/// so the user's paid jobs seemed gone.
#[tokio::test]
async fn a_ledger_path_that_is_not_there_is_an_error_for_commands_that_read() {
    let shell = Shell::quick().await;
    let missing_file = shell.path("ledgr.sqlite");
    let missing_dir = shell.path("no-such-dir");
    let in_missing_dir = missing_dir.join("ledger.sqlite");
    let out = shell.path("rows");
    let out = out.display().to_string();
    for path in [&missing_file, &in_missing_dir] {
        let value = path.display().to_string();
        for args in [
            &["jobs", "list"][..],
            &["jobs", "list", "--json"],
            &["jobs", "show", "1"],
            &["jobs", "forget", "1"],
            &[
                "jobs",
                "retry",
                "0b7e4c1e-0000-4000-8000-000000000000",
                "--yes",
            ],
            &["jobs", "resume", "--dir", &out],
        ] {
            let ran = shell
                .run(&[&["--ledger", value.as_str()][..], args].concat())
                .await;
            assert_eq!(ran.code, 2, "{args:?} {value}: {}", ran.stderr);
            assert!(
                crate::names_the_ledger(&ran.stderr, &[&value, "no ledger is there"]),
                "{args:?} {value}: {}",
                ran.stderr
            );
            assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
            assert!(!path.exists(), "{args:?} made {}", path.display());
            assert!(
                !missing_dir.exists(),
                "{args:?} made {}",
                missing_dir.display()
            );
        }
    }
    assert_eq!(shell.sim.requests().values().sum::<u64>(), 0);
}

/// A command that notes what it saw in the ledger (`results`, `wait`) does not make a
/// ledger file either when the one named is not there: an empty file there would note
/// nothing (the job is not in it) and hide the typo. `results` writing a file says the job
/// will not be noted collected, naming the flag.
#[tokio::test]
async fn commands_that_note_jobs_do_not_make_a_missing_ledger() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let id = shell.submitted("crawler", &body).await;
    let typo = shell.path("ledgr.sqlite");
    let typo_text = typo.display().to_string();
    let out = shell.path("rows.jsonl").display().to_string();
    let ran = shell
        .run(&crate::fast(&["--ledger", &typo_text, "wait", &id]))
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = shell
        .run(&["--ledger", &typo_text, "results", &id, "--out", &out])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("will not be noted collected")
            && ran.stderr.contains(&format!("job_id={id}"))
            && crate::names_the_ledger(&ran.stderr, &[&typo_text]),
        "{}",
        ran.stderr
    );
    assert!(!typo.exists(), "a ledger was made at {typo_text}");
}

/// No `--ledger` and no ledger yet at the default location (a fresh machine): the reading
/// commands say no jobs were recorded yet, exit as for an empty ledger, and make nothing; the
/// first submit makes the file and its directory.
#[tokio::test]
async fn the_default_ledger_not_made_yet_is_an_empty_ledger_until_the_first_submit() {
    let shell = Shell::quick().await;
    let data = shell.path("data-home");
    let home = shell.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [("XDG_DATA_HOME", data.as_path()), ("HOME", home.as_path())];
    let default = data.join("hasdata").join("ledger.sqlite");
    let (code, stdout, stderr) = run_with(&shell, &["jobs", "list"], &env, false).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no jobs recorded yet"), "{stderr}");
    let (code, _, stderr) = run_with(&shell, &["jobs", "show", "1"], &env, false).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not in the ledger"), "{stderr}");
    assert!(!data.exists(), "a reading command made {}", data.display());
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let (code, stdout, stderr) =
        run_with(&shell, &["submit", "crawler", "--body", &body], &env, false).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        default.is_file(),
        "the submit did not make {}",
        default.display()
    );
    let (code, listed, stderr) = run_with(&shell, &["jobs", "list"], &env, false).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(listed.contains(stdout.trim()), "{listed}");
    assert!(!stderr.contains("no jobs recorded yet"), "{stderr}");
}

/// A command that records jobs (`submit`, `run`) given `--ledger` in a directory that does
/// not exist: exit 2 naming the flag and the directory, nothing sent and nothing made (a
/// mistyped directory would hold the paid job where the user never looks). In a directory
/// that exists, the file is made as before.
#[tokio::test]
async fn a_writing_command_refuses_a_ledger_in_a_directory_that_is_not_there() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let missing_dir = shell.path("no-such-dir");
    let value = missing_dir.join("ledger.sqlite").display().to_string();
    for args in [
        &["submit", "crawler", "--body", &body][..],
        &["run", "crawler", "--body", &body, "--out", "rows.jsonl"],
    ] {
        let ran = shell
            .run(&[&["--ledger", value.as_str()][..], args].concat())
            .await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            crate::names_the_ledger(
                &ran.stderr,
                &[&missing_dir.display().to_string(), "does not exist"]
            ),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(
            !missing_dir.exists(),
            "{args:?} made {}",
            missing_dir.display()
        );
    }
    assert_eq!(shell.sim.submits(), 0, "a POST went out");
    let new = shell.path("new.sqlite");
    let new_text = new.display().to_string();
    let ran = shell
        .run(&["--ledger", &new_text, "submit", "crawler", "--body", &body])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(new.is_file());
}

/// A `postgres://` ledger whose server does not answer (a closed loopback port): the error
/// names the flag and the server's host:port, and never the password (in the message, the
/// JSON error, or the logs at -vv); a submit sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_ledger_names_the_flag_and_the_server() {
    const PASSWORD: &str = "pg-secret-8d41";
    let shell = Shell::quick().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://app:{PASSWORD}@127.0.0.1:{port}/hasdata");
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    for args in [
        &["jobs", "list"][..],
        &["-vv", "jobs", "show", "1"],
        &["--json", "jobs", "list"],
        &["-vv", "submit", "crawler", "--body", &body],
    ] {
        let ran = shell
            .run(&[&["--ledger", url.as_str()][..], args].concat())
            .await;
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.stderr);
        assert!(
            crate::names_the_ledger(&ran.stderr, &[&format!("127.0.0.1:{port}")]),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains(PASSWORD) && !ran.stdout.contains(PASSWORD),
            "{args:?}: {}{}",
            ran.stdout,
            ran.stderr
        );
    }
    assert_eq!(shell.sim.submits(), 0, "a POST went out without its intent");
}

/// Makes a file immutable (`chattr +i`: not even root may write it) until dropped.
struct Immutable<'a>(&'a Path);

impl<'a> Immutable<'a> {
    /// `None`, with the reason, when this machine cannot (no `chattr`, a file system without
    /// the attribute, not allowed), or when the file can still be opened for writing.
    fn set(path: &'a Path) -> Result<Immutable<'a>, String> {
        let ran = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .output()
            .map_err(|e| format!("no chattr: {e}"))?;
        if !ran.status.success() {
            return Err(format!(
                "chattr +i failed: {}",
                String::from_utf8_lossy(&ran.stderr).trim()
            ));
        }
        let guard = Immutable(path);
        if std::fs::OpenOptions::new().append(true).open(path).is_ok() {
            return Err("the file is still writable after chattr +i".into());
        }
        Ok(guard)
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(self.0)
            .status();
    }
}

/// A ledger file that can be read but not written (tests run as root, so `chmod` would not
/// stop a write: the file is made immutable): `submit` and `run` refuse before the POST,
/// naming the flag and the file; `jobs list` and `jobs show` still read it.
#[tokio::test]
async fn a_read_only_ledger_is_refused_before_a_submit_and_still_read() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let id = shell.submitted("crawler", &body).await;
    let ledger = shell.path("ledger.sqlite");
    let guard = match Immutable::set(&ledger) {
        Ok(guard) => guard,
        Err(reason) => {
            eprintln!("skipped: cannot make the ledger read-only on this machine: {reason}");
            return;
        }
    };
    let submits = shell.sim.submits();
    let ledger_text = ledger.display().to_string();
    for args in [
        &["submit", "crawler", "--body", &body][..],
        &["run", "crawler", "--body", &body, "--out", "rows.jsonl"],
    ] {
        let ran = shell.run(args).await;
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.stderr);
        assert!(
            crate::names_the_ledger(
                &ran.stderr,
                &[&ledger_text, "read-only", "nothing was sent"]
            ),
            "{args:?}: {}",
            ran.stderr
        );
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    }
    assert_eq!(shell.sim.submits(), submits, "a POST went out");
    let listed = shell.run(&["jobs", "list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains(&id), "{}", listed.stdout);
    let shown = shell.run(&["jobs", "show", &id]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    // `status` answers, and says once that the ledger (named) could not note what it read.
    let status = shell.run(&["status", &id]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stderr.contains("could not note the job's status")
            && crate::names_the_ledger(&status.stderr, &[&ledger_text]),
        "{}",
        status.stderr
    );
    assert_eq!(status.stderr.trim().lines().count(), 1, "{}", status.stderr);
    drop(guard);
}

/// A ledger is scoped to one base URL: `jobs list` for another (the simulator's jobs without
/// its HASDATA_BASE_URL, the same server named `localhost` instead of `127.0.0.1`) listed
/// nothing and said nothing. It now says which base URLs the ledger has jobs for and which
/// flag picks them; `jobs show` of such a job says the same.
#[tokio::test]
async fn a_list_for_another_base_url_says_where_the_jobs_are() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let id = shell.submitted("crawler", &body).await;
    let base = shell.sim.base_url().to_owned();
    let slash = base.replace("127.0.0.1", "localhost");
    for args in [
        &["--base-url", slash.as_str(), "jobs", "list"][..],
        &["--base-url", slash.as_str(), "jobs", "show", &id],
        &["--base-url", slash.as_str(), "jobs", "show", "no-such-key"],
        &["--base-url", slash.as_str(), "jobs", "forget", &id],
    ] {
        let ran = shell.run(args).await;
        let code = if args.contains(&"list") { 0 } else { 1 };
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert!(
            ran.stderr.contains(&format!("1 job for {base}:"))
                && ran.stderr.contains("--base-url (or HASDATA_BASE_URL)"),
            "{args:?}: {}",
            ran.stderr
        );
    }
    // Its own base URL lists it, without the note; a filtered list says nothing more.
    let ran = shell.run(&["jobs", "list"]).await;
    assert!(
        ran.stdout.contains(&id) && ran.stderr.is_empty(),
        "{}",
        ran.stderr
    );
    let ran = shell
        .run(&["--base-url", &slash, "jobs", "list", "--scraper", "crawler"])
        .await;
    assert!(
        ran.stdout.is_empty() && ran.stderr.is_empty(),
        "{}",
        ran.stderr
    );
}

/// Another program's SQLite database as `--ledger` (a typo, the wrong variable): exit 2
/// naming the flag and the file, for reading and for submitting, nothing sent and the file
/// left as it was. `jobs list` added the ledger's tables to it and listed nothing.
#[tokio::test]
async fn another_program_s_database_is_not_taken_for_a_ledger() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let path = shell.path("app.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE settings (k TEXT, v TEXT); INSERT INTO settings VALUES ('a', 'b');",
        )
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let value = path.display().to_string();
    for args in [
        &["jobs", "list"][..],
        &["submit", "crawler", "--body", &body],
    ] {
        let ran = shell
            .run(&[&["--ledger", value.as_str()][..], args].concat())
            .await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            crate::names_the_ledger(&ran.stderr, &[&value, "not a hasdata ledger"]),
            "{args:?}: {}",
            ran.stderr
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(shell.sim.submits(), 0);
}

/// `submit` with `--ledger` naming a file that does not exist yet (in a directory that does)
/// makes it, and says so: a mistyped name, or a relative HASDATA_LEDGER read from another
/// directory, starts a ledger that knows none of the user's jobs, where a rerun of
/// `submit --bodies` sends again every line the real ledger has as sent, silently. The next
/// submit, with the file there, says nothing; a submit refused for want of an API key makes
/// no file.
#[tokio::test]
async fn a_submit_that_makes_a_new_ledger_file_says_so() {
    let shell = Shell::quick().await;
    let bodies = shell.file("bodies.jsonl", "{\"urls\": [\"https://example.com\"]}\n");
    let typo = shell.path("ledgr.sqlite");
    let typo_text = typo.display().to_string();
    let mut command = shell.command(&[
        "--ledger", &typo_text, "submit", "crawler", "--bodies", &bodies,
    ]);
    command.env_remove("HASDATA_API_KEY");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        !typo.exists(),
        "a ledger was made by a submit that could not send"
    );
    let submit = [
        "--ledger", &typo_text, "submit", "crawler", "--bodies", &bodies,
    ];
    let first = shell.run(&submit).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains(&format!("a new ledger: {typo_text}"))
            && first.stderr.contains("knows no earlier jobs"),
        "{}",
        first.stderr
    );
    let again = shell.run(&submit).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("a new ledger"), "{}", again.stderr);
}

/// `status` and `stop` note the record they read in the ledger; with `--ledger` naming a
/// file that is not there they still answer, and say once that the ledger (named by the
/// flag) cannot note it, instead of passing the typo by in silence.
#[tokio::test]
async fn status_and_stop_say_when_the_ledger_named_cannot_note_the_job() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let id = shell.submitted("crawler", &body).await;
    let typo = shell.path("ledgr.sqlite");
    let typo_text = typo.display().to_string();
    for command in ["status", "stop"] {
        let ran = shell.run(&["--ledger", &typo_text, command, &id]).await;
        assert_eq!(ran.code, 0, "{command}: {}", ran.stderr);
        assert!(ran.stdout.contains(&id), "{command}: {}", ran.stdout);
        assert!(
            ran.stderr.contains("is not noted in it")
                && crate::names_the_ledger(&ran.stderr, &[&typo_text]),
            "{command}: {}",
            ran.stderr
        );
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    }
    assert!(!typo.exists());
}

/// `--base-url` with a trailing `/` is the same API as without it, for the ledger too (the
/// library's client already trimmed it): a submit with `http://host/` was recorded apart, so
/// `jobs list` with `http://host` (and a Rust program's jobs on the same ledger) did not show
/// it, and the other way round.
#[tokio::test]
async fn a_base_url_with_a_trailing_slash_is_the_same_ledger_scope() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let base = shell.sim.base_url().to_owned();
    let slash = format!("{base}/");
    let ran = shell
        .run(&["--base-url", &slash, "submit", "crawler", "--body", &body])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.stdout.trim().to_owned();
    let listed = shell.run(&["--base-url", &base, "jobs", "list"]).await;
    assert!(
        listed.stdout.contains(&id),
        "{}{}",
        listed.stdout,
        listed.stderr
    );
    let listed = shell.run(&["--base-url", &slash, "jobs", "list"]).await;
    assert!(
        listed.stdout.contains(&id),
        "{}{}",
        listed.stdout,
        listed.stderr
    );
}

/// `~/...` that no shell expanded (quoted, `--ledger=~/...`, HASDATA_LEDGER from a `.env`
/// file): reading or writing, the error says `~` was not expanded, and no directory named
/// `~` is made in the working directory (a submit made one and kept its ledger there).
#[tokio::test]
async fn an_unexpanded_tilde_is_named_in_the_error() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    for args in [
        &["--ledger", "~/ledger.sqlite", "jobs", "list"][..],
        &[
            "--ledger",
            "~/ledger.sqlite",
            "submit",
            "crawler",
            "--body",
            &body,
        ],
    ] {
        let ran = shell.run(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("`~` was not expanded"),
            "{args:?}: {}",
            ran.stderr
        );
    }
    assert!(!shell.path("~").exists());
    assert_eq!(shell.sim.submits(), 0);
}

/// A 0-byte file as `--ledger` (`touch`ed, made by another program, truncated) is no ledger:
/// the reading commands refuse it as they refuse a missing one, exit 2 naming the flag and
/// the file, and leave it empty; they listed no jobs with exit 0 and wrote the ledger's
/// tables into it. A submit still makes its ledger there: nothing in it is lost.
#[tokio::test]
async fn an_empty_file_is_not_a_ledger_to_read_but_one_to_make() {
    let shell = Shell::quick().await;
    let empty = shell.path("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    let value = empty.display().to_string();
    for args in [
        &["jobs", "list"][..],
        &["jobs", "list", "--json"],
        &["jobs", "show", "1"],
        &["jobs", "forget", "1"],
    ] {
        let ran = shell
            .run(&[&["--ledger", value.as_str()][..], args].concat())
            .await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            crate::names_the_ledger(&ran.stderr, &[&value, "empty file"]),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "{args:?}");
    }
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let ran = shell
        .run(&["--ledger", &value, "submit", "crawler", "--body", &body])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.stdout.trim().to_owned();
    let listed = shell.run(&["--ledger", &value, "jobs", "list"]).await;
    assert!(listed.stdout.contains(&id), "{}", listed.stderr);
}
