//! The PostgreSQL ledger: the shared conformance suite against a real server (a throwaway
//! cluster from hasdata-testpg, a fresh database per test), then what only a server database
//! has to get right: concurrent migrations, newer schemas, secrets in URLs.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, missing_docs)]

mod conformance;

use std::sync::Arc;

use hasdata_ledger::{Intent, JobLedger, LedgerError, PostgresLedger, postgres};
use hasdata_testpg::TestPg;
use serde_json::json;

/// A fresh database, or `None` (loudly) where PostgreSQL is missing outside CI.
async fn database() -> Option<String> {
    Some(TestPg::shared().await?.fresh_database().await)
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_postgres_ledger_passes_the_conformance_suite() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    conformance::contract(&ledger).await;
    conformance::redaction(&ledger).await;
    // Another base URL sees none of it, and takes the query suite on its own (opened lazily:
    // nothing connects until the first call).
    let other = PostgresLedger::lazy(&url, "https://api.hasdata.com").unwrap();
    assert!(
        other.intents().await.unwrap().is_empty(),
        "scoped by base URL"
    );
    assert!(other.jobs().await.unwrap().is_empty());
    // Where the jobs are, for a list that finds none under its own base URL.
    assert_eq!(
        other.other_base_urls().await.unwrap(),
        vec![("http://sim".to_owned(), 2)]
    );
    assert!(ledger.other_base_urls().await.unwrap().is_empty());
    conformance::queries(&other).await;
    // Reconnecting (a new process) reads everything back.
    let reopened = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    assert_eq!(reopened.intents().await.unwrap().len(), 6);
    assert_eq!(reopened.jobs().await.unwrap().len(), 2);
    let claims = PostgresLedger::lazy(&url, "http://claims").unwrap();
    conformance::resend_claims(&claims).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_ledgers_on_one_database_take_concurrent_writers() {
    let Some(url) = database().await else { return };
    // Two pools: two processes, as far as the server can tell.
    let a: Arc<dyn JobLedger> =
        Arc::new(PostgresLedger::connect(&url, "http://sim").await.unwrap());
    let b: Arc<dyn JobLedger> =
        Arc::new(PostgresLedger::connect(&url, "http://sim").await.unwrap());
    conformance::concurrent_writers(a.clone(), b.clone()).await;
    conformance::concurrent_resend_claims(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_migrate_once() {
    let Some(url) = database().await else { return };
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresLedger::connect(&url, "http://sim").await })
        })
        .collect();
    for connect in connects {
        connect.await.unwrap().unwrap();
    }
    let history: i64 = sql(&url)
        .await
        .query_one(
            &format!("SELECT count(*) FROM {}", postgres::MIGRATION_TABLE),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(history, postgres::SCHEMA_VERSION);
}

/// Jobs and intents the CLI recorded under `--base-url http://host/` before it dropped
/// trailing `/`s could no longer be selected: version 3 moves them to `http://host`.
#[tokio::test]
async fn base_urls_recorded_with_a_trailing_slash_are_trimmed() {
    let Some(url) = database().await else { return };
    {
        let plain = PostgresLedger::connect(&url, "http://sim").await.unwrap();
        let slashed = PostgresLedger::connect(&url, "http://sim/").await.unwrap();
        conformance::record_slashed(&plain, &slashed).await;
    }
    // As a database of version 2 (before the trim) holds them.
    sql(&url)
        .await
        .batch_execute(&format!(
            "DELETE FROM {} WHERE version = 3",
            postgres::MIGRATION_TABLE
        ))
        .await
        .unwrap();
    let plain = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    let slashed = PostgresLedger::connect(&url, "http://sim/").await.unwrap();
    conformance::slashes_trimmed(&plain, &slashed).await;
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_not_damaged() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    ledger
        .record_intent(&Intent::new("kept", "contacts", b"{}", None))
        .await
        .unwrap();
    sql(&url)
        .await
        .batch_execute(&format!(
            "INSERT INTO {} (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01T00:00:00Z', '1')",
            postgres::MIGRATION_TABLE
        ))
        .await
        .unwrap();
    let error = PostgresLedger::connect(&url, "http://sim")
        .await
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::TooNew { found: 99, .. }),
        "{error}"
    );
    assert!(
        ledger.intent("kept").await.unwrap().is_some(),
        "data untouched"
    );
}

#[tokio::test]
async fn the_submit_answer_is_stored_without_webhook_secrets() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    ledger
        .record_intent(&Intent::new("k", "contacts", b"{}", None))
        .await
        .unwrap();
    let mut answer = conformance::submitted(json!(7));
    answer.record = json!({"id": 7, "input": {"webhook": {"url": "https://h", "headers": {"x-secret": "s3cret-value"}}}});
    ledger.record_submitted("k", &answer).await.unwrap();
    let stored: serde_json::Value = sql(&url)
        .await
        .query_one("SELECT record FROM ledger_jobs WHERE id = 7", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored["input"]["webhook"]["headers"]["x-secret"],
        hasdata_ledger::REDACTED
    );
    assert!(!stored.to_string().contains("s3cret-value"));
}

#[tokio::test]
async fn a_password_in_the_url_is_never_shown() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    // The cluster trusts loopback, so the password is accepted and ignored: it only has to stay
    // out of Debug.
    let with_password = url.replacen("postgres@", "postgres:hunter2-secret@", 1);
    let ledger = PostgresLedger::connect(&with_password, "http://sim")
        .await
        .unwrap();
    let shown = format!("{ledger:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("postgres:***@"), "{shown}");

    // A server that is not there: the error names it, without the password.
    let nowhere = "postgres://app:hunter2-secret@127.0.0.1:1/none?connect_timeout=5";
    let error = PostgresLedger::connect(nowhere, "http://sim")
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    // A malformed URL fails before any connection, lazily or not, and hides the password too.
    let error = PostgresLedger::lazy(
        "postgres://app:hunter2-secret@host:notaport/x",
        "http://sim",
    )
    .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
    let error = PostgresLedger::connect(
        "postgres://app:hunter2-secret@host:notaport/x",
        "http://sim",
    )
    .await
    .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
}

/// Figures for docs/scale-out.md, not a pass/fail check (timings never are):
/// `cargo test -p hasdata-ledger --features postgres --test postgres -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn measure_write_ahead_round_trips() {
    use std::time::Instant;
    const SUBMITS: usize = 2000;
    const WRITERS: usize = 16;

    async fn run(ledger: Arc<dyn JobLedger>) -> f64 {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..WRITERS {
            let ledger = ledger.clone();
            tasks.spawn(async move {
                for n in (writer..SUBMITS).step_by(WRITERS) {
                    let key = format!("bench-{n}");
                    ledger
                        .record_intent(&Intent::new(
                            &key,
                            "contacts",
                            b"{\"urls\":[\"https://a\"]}",
                            None,
                        ))
                        .await
                        .unwrap();
                    ledger
                        .record_submitted(&key, &conformance::submitted(json!(100_000 + n)))
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        SUBMITS as f64 / started.elapsed().as_secs_f64()
    }

    let started = Instant::now();
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let cluster = started.elapsed();
    let started = Instant::now();
    let url = pg.fresh_database().await;
    let database = started.elapsed();
    let started = Instant::now();
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    let migrate = started.elapsed();
    let postgres = run(Arc::new(ledger)).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        hasdata_ledger::SqliteLedger::open(&dir.path().join("l.sqlite"), "http://sim").unwrap();
    let sqlite = run(Arc::new(sqlite)).await;
    println!(
        "cluster start {cluster:?}; CREATE DATABASE {database:?}; connect+migrate {migrate:?}\n\
         write-ahead submits (intent + submitted, {WRITERS} writers): postgres {postgres:.0}/s, sqlite {sqlite:.0}/s"
    );
}

/// TLS by `sslmode`, with libpq's meanings, against the test cluster with `ssl = on` and a
/// self-signed certificate made here with the `openssl` command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_follows_sslmode_as_libpq_does() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::time::{Duration, Instant};
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the TLS test needs the openssl command (.ci/run installs it)"
        );
        eprintln!("\n*** openssl missing: the PostgreSQL TLS test did not run ***\n");
        return;
    }
    // A CA, and the server's certificate for `localhost` signed by it.
    let file = |name: &str| pg.dir().join(name);
    let (ca, ca_key) = (file("tls-ca.crt"), file("tls-ca.key"));
    let (cert, key, request) = (
        file("tls-server.crt"),
        file("tls-server.key"),
        file("tls-server.csr"),
    );
    let extensions = file("tls-server.ext");
    std::fs::write(
        &extensions,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        let made = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    };
    let os = |text: &'static str| std::ffi::OsStr::new(text);
    openssl(&[
        os("req"),
        os("-x509"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-days"),
        os("2"),
        os("-subj"),
        os("/CN=hasdata test CA"),
        os("-keyout"),
        ca_key.as_os_str(),
        os("-out"),
        ca.as_os_str(),
    ]);
    openssl(&[
        os("req"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-subj"),
        os("/CN=localhost"),
        os("-keyout"),
        key.as_os_str(),
        os("-out"),
        request.as_os_str(),
    ]);
    openssl(&[
        os("x509"),
        os("-req"),
        os("-in"),
        request.as_os_str(),
        os("-CA"),
        ca.as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("2"),
        os("-extfile"),
        extensions.as_os_str(),
        os("-out"),
        cert.as_os_str(),
    ]);
    // The server (`nobody` when the tests run as root) must own its key, readable by it alone.
    let owner = std::fs::metadata(pg.dir()).unwrap();
    for file in [&cert, &key] {
        std::os::unix::fs::chown(file, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let admin = sql(&pg.admin_url()).await;
    for statement in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on: String = sql(&pg.admin_url())
            .await
            .query_one("SHOW ssl", &[])
            .await
            .unwrap()
            .get(0);
        if on == "on" {
            break;
        }
        assert!(Instant::now() < deadline, "the server turns ssl on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = pg.fresh_database().await;
    let encrypted = async |url: String| -> Result<bool, LedgerError> {
        let ledger = PostgresLedger::connect(&url, "http://sim").await?;
        Ok(ledger
            .pool()
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get::<_, bool>(0))
    };
    // require: encrypted, the certificate not verified (self-signed is fine); disable: plain.
    assert!(encrypted(format!("{url}?sslmode=require")).await.unwrap());
    assert!(!encrypted(format!("{url}?sslmode=disable")).await.unwrap());
    // verify-full: the chain from sslrootcert and the host name.
    let root = ca.display().to_string();
    let by_name = url.replacen("127.0.0.1", "localhost", 1);
    assert!(
        encrypted(format!("{by_name}?sslmode=verify-full&sslrootcert={root}"))
            .await
            .unwrap()
    );
    // verify-full refuses a name the certificate does not carry; verify-ca takes it.
    let wrong_name = encrypted(format!("{url}?sslmode=verify-full&sslrootcert={root}"))
        .await
        .unwrap_err();
    assert!(
        !wrong_name.is_unavailable(),
        "a certificate problem is not passing: {wrong_name}"
    );
    assert!(
        encrypted(format!("{url}?sslmode=verify-ca&sslrootcert={root}"))
            .await
            .unwrap()
    );
    // verify-full with the Mozilla roots refuses a self-signed certificate.
    let untrusted = encrypted(format!("{by_name}?sslmode=verify-full"))
        .await
        .unwrap_err();
    assert!(untrusted.to_string().contains("TLS"), "{untrusted}");
    // A root file that is not there is named before any connection.
    let missing = PostgresLedger::lazy(
        &format!("{url}?sslmode=verify-full&sslrootcert=/no/such/ca.pem"),
        "http://sim",
    )
    .unwrap_err();
    assert!(missing.to_string().contains("/no/such/ca.pem"), "{missing}");

    // Client certificates: a database whose pg_hba.conf line asks for one
    // (`clientcert=verify-full`: signed by the server's CA, its CN the user's name).
    let (client_cert, client_key, client_request) = (
        file("tls-client.crt"),
        file("tls-client.key"),
        file("tls-client.csr"),
    );
    // A v3 certificate (rustls refuses v1, which `openssl x509 -req` makes without extensions).
    let client_extensions = file("tls-client.ext");
    std::fs::write(
        &client_extensions,
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let user: String = admin
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    let subject = std::ffi::OsString::from(format!("/CN={user}"));
    openssl(&[
        os("req"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-subj"),
        subject.as_os_str(),
        os("-keyout"),
        client_key.as_os_str(),
        os("-out"),
        client_request.as_os_str(),
    ]);
    openssl(&[
        os("x509"),
        os("-req"),
        os("-in"),
        client_request.as_os_str(),
        os("-CA"),
        ca.as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("2"),
        os("-extfile"),
        client_extensions.as_os_str(),
        os("-out"),
        client_cert.as_os_str(),
    ]);
    std::os::unix::fs::chown(&ca, Some(owner.uid()), Some(owner.gid())).unwrap();
    let strict = pg.fresh_database().await;
    let database = strict.rsplit('/').next().unwrap().to_owned();
    let hba: String = admin.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
    let rules = std::fs::read_to_string(&hba).unwrap();
    // This database only, ahead of the cluster's own lines (other tests share the cluster).
    let mut ours = String::new();
    for address in ["127.0.0.1/32", "::1/128"] {
        ours.push_str(&format!(
            "hostssl {database} all {address} trust clientcert=verify-full\n\
             host {database} all {address} reject\n"
        ));
    }
    std::fs::write(&hba, format!("{ours}{rules}")).unwrap();
    for statement in [
        format!("ALTER SYSTEM SET ssl_ca_file = '{}'", ca.display()),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    // Wait until the rule holds: a TLS connection without a certificate is refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    while encrypted(format!("{strict}?sslmode=require")).await.is_ok() {
        assert!(Instant::now() < deadline, "the server reloads pg_hba.conf");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let with_cert = format!(
        "{}?sslmode=verify-full&sslrootcert={root}&sslcert={}&sslkey={}",
        strict.replacen("127.0.0.1", "localhost", 1),
        client_cert.display(),
        client_key.display()
    );
    assert!(encrypted(with_cert.clone()).await.unwrap());
    let ledger = PostgresLedger::connect(&with_cert, "http://sim")
        .await
        .unwrap();
    let seen: Option<String> = ledger
        .pool()
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        seen.as_deref(),
        Some(format!("/CN={user}").as_str()),
        "the server saw the client's certificate"
    );
    conformance::contract(&ledger).await;
    // Without the certificate, and with a certificate but no key: refused, the latter before
    // any connection; the key's contents are never shown.
    let refused = encrypted(format!("{strict}?sslmode=require"))
        .await
        .unwrap_err();
    assert!(!refused.is_unavailable(), "{refused}");
    let no_key = PostgresLedger::lazy(
        &format!("{strict}?sslmode=require&sslcert={}", client_cert.display()),
        "http://sim",
    )
    .unwrap_err();
    assert!(
        no_key.to_string().contains("sslcert needs sslkey"),
        "{no_key}"
    );
    let key_text = std::fs::read_to_string(&client_key).unwrap();
    let body_line = key_text.lines().nth(1).unwrap();
    let wrong_key = PostgresLedger::lazy(
        &format!(
            "{strict}?sslmode=require&sslcert={}&sslkey={}",
            client_cert.display(),
            client_cert.display()
        ),
        "http://sim",
    )
    .unwrap_err();
    assert!(wrong_key.to_string().contains("sslkey"), "{wrong_key}");
    assert!(!format!("{wrong_key:?}").contains(body_line));
    std::fs::write(&hba, rules).unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
}

/// A URL naming the server's Unix-domain socket directory (`host=/dir`, as `psql` takes it) opens
/// the ledger, with the default `sslmode` and with `disable`: tokio-postgres asks the TLS connector
/// for a host name's connector even on a socket, with an empty name, which rustls refused
/// ("error performing TLS handshake: invalid dns name").
#[tokio::test]
async fn a_unix_socket_url_connects() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let (_, database) = url.rsplit_once('/').unwrap();
    let dir = pg.dir().display().to_string();
    for mode in ["", "&sslmode=disable", "&sslmode=prefer"] {
        let socket_url = format!(
            "postgresql://postgres@/{database}?host={dir}&port={}{mode}",
            pg.port()
        );
        let ledger = PostgresLedger::connect(&socket_url, "http://sim")
            .await
            .unwrap_or_else(|e| panic!("{socket_url}: {e}"));
        ledger.jobs().await.unwrap();
    }
}
