//! nginx serving the captured job as static files: the setup the rows-at-wire-speed issue
//! measured its own figures on.
//!
//! The bench's own server ([`super::server`]) runs on the bench process's tokio runtime.
//! Against it, on two cores, `hasdata results` from pages (two busy threads: its runtime
//! worker and its page thread) came out 1.48-1.71x the one-worker Rust fetch at a million
//! rows, where against nginx serving the same bytes it was 1.36-1.42x (runs alternated
//! between the two servers, `docs/benchmarks.md`, the tenth stop). The server's CPU per run
//! was about the same either way (0.11-0.12 s), so what differs is how the server's threads
//! share the two cores with a reader's, not how much they take (the one-threaded fetch's
//! time moved little between the two servers, the reader's more). A real API server shares no cores with the
//! reader at all, and nginx, a worker process per core each with its own event loop, is the
//! nearer stand-in.
//!
//! The files are written to a temporary directory: each page as `pages/N.json`, the job's
//! status as `status.json` (its `data.json` link pointing at nginx), and `data.json` under
//! `files/`. nginx runs in the foreground as this process's child and is stopped when the
//! [`Nginx`] is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::Files;
use super::{Result, fail};

/// A running nginx and the directory it serves.
pub struct Nginx {
    child: Child,
    /// Kept for its lifetime: the directory is removed when the server is dropped.
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// The nginx executable, when one is installed (on `PATH`, or Debian's `/usr/sbin`, which a
/// non-root `PATH` often lacks).
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .collect::<Vec<_>>()
    });
    on_path
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|candidate| candidate.is_file())
}

/// The page number of a captured results path (`/scrapers/jobs/7/results?page=12&limit=100`).
fn page_of(path: &str) -> Option<u64> {
    let (_, query) = path.split_once("/results?")?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("page="))?
        .parse()
        .ok()
}

impl Nginx {
    /// Writes `files` (the captured job `id`) to a directory and starts `exe` serving them
    /// on a free loopback port, one worker process per core; returns once it answers.
    pub fn start(exe: &Path, id: u64, files: &Files) -> Result<Nginx> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(fail)?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir().map_err(fail)?;
        let root = dir.path();
        for sub in ["pages", "files", "logs", "tmp"] {
            std::fs::create_dir(root.join(sub)).map_err(fail)?;
        }
        let status_path = format!("/scrapers/jobs/{id}");
        for (path, body) in files {
            let target = if let Some(page) = page_of(path) {
                root.join(format!("pages/{page}.json"))
            } else if *path == status_path {
                let text = String::from_utf8_lossy(body).replace(
                    &format!("\"/files/{id}.json\""),
                    &format!("\"{base}/files/{id}.json\""),
                );
                std::fs::write(root.join("status.json"), text).map_err(fail)?;
                continue;
            } else if let Some(name) = path.strip_prefix("/files/") {
                root.join("files").join(name)
            } else {
                return Err(format!("no place for the captured path {path}"));
            };
            std::fs::write(target, body).map_err(fail)?;
        }
        // The workers may run as another user (root's nginx drops to `nobody`): everything
        // they serve is readable to all.
        make_readable(root)?;
        let root_text = root.display();
        let config = format!(
            "worker_processes auto;
daemon off;
pid {root_text}/nginx.pid;
error_log {root_text}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 60;
  default_type application/json;
  client_body_temp_path {root_text}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {root_text};
    location = /scrapers/jobs/{id} {{ try_files /status.json =404; }}
    location = /scrapers/jobs/{id}/results {{ try_files /pages/$arg_page.json =404; }}
    location /files/ {{ }}
  }}
}}
"
        );
        let config_path = root.join("nginx.conf");
        std::fs::write(&config_path, config).map_err(fail)?;
        let child = Command::new(exe)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let nginx = Nginx {
            child,
            _dir: dir,
            base,
        };
        nginx.wait_until_serving(&status_path)?;
        Ok(nginx)
    }

    /// Polls the status path until nginx answers it with 200 (10 s at most).
    fn wait_until_serving(&self, status_path: &str) -> Result<()> {
        let address = self.base.trim_start_matches("http://");
        let started = Instant::now();
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(address) {
                use std::io::{Read, Write};
                let request = format!(
                    "GET {status_path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
                );
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.1 200")
                {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "nginx did not serve {status_path} on {} within 10 s (see its error log)",
                    self.base
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The CPU seconds nginx's worker processes have run so far: the server's share of a
    /// run is the difference across it. The workers are the master's children, read from
    /// `/proc` (they are never waited for, so `getrusage` cannot see them): each one's
    /// `schedstat`, in nanoseconds (a worker is one thread), where `stat`'s clock ticks would
    /// round a run of a few milliseconds to nothing.
    pub fn cpu_seconds(&self) -> f64 {
        let master = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .map(|nanos| nanos as f64 / 1e9)
            .sum()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT would wait for keep-alive connections; SIGTERM stops at once, and the
        // workers follow their master.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes `dir` and everything under it readable (and directories searchable) by all.
fn make_readable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        if path.is_dir() {
            make_readable(&path)?;
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(fail)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::{Read, Write};

    /// The status line and body of `GET path` (HTTP/1.1, the connection closed after).
    fn get(base: &str, path: &str) -> std::io::Result<(String, Vec<u8>)> {
        let address = base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_owned();
        Ok((status, answer[split + 4..].to_vec()))
    }

    #[test]
    fn nginx_serves_the_captured_job_and_stops_when_dropped() {
        let Some(exe) = find() else {
            let message =
                "nginx not found on PATH or at /usr/sbin/nginx (apt-get install nginx-light)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}; CI=true, so the bench's nginx test fails instead of skipping");
            }
            eprintln!("!! {message}: the bench's nginx test is SKIPPED on this machine");
            return;
        };
        let id = 416_349;
        let page =
            |n: u64| Bytes::from(format!("{{\"meta\":{{\"currentPage\":{n}}},\"data\":[]}}"));
        let files: Files = [
            (
                format!("/scrapers/jobs/{id}"),
                Bytes::from(format!(
                    "{{\"id\":{id},\"data\":{{\"json\":\"/files/{id}.json\"}}}}"
                )),
            ),
            (
                format!("/scrapers/jobs/{id}/results?page=1&limit=100"),
                page(1),
            ),
            (
                format!("/scrapers/jobs/{id}/results?page=2&limit=100"),
                page(2),
            ),
            (
                format!("/files/{id}.json"),
                Bytes::from_static(b"[\n{\"a\":1}\n]"),
            ),
        ]
        .into_iter()
        .collect();
        let nginx = Nginx::start(&exe, id, &files).expect("nginx starts");
        let base = nginx.base.clone();

        let (status, body) = get(&base, &format!("/scrapers/jobs/{id}")).unwrap();
        assert!(status.contains("200"), "{status}");
        let link = format!("\"{base}/files/{id}.json\"");
        assert!(
            String::from_utf8_lossy(&body).contains(&link),
            "the data.json link points at nginx: {}",
            String::from_utf8_lossy(&body)
        );
        for n in [1, 2] {
            let (status, body) = get(
                &base,
                &format!("/scrapers/jobs/{id}/results?page={n}&limit=100"),
            )
            .unwrap();
            assert!(status.contains("200"), "{status}");
            assert_eq!(body, page(n).to_vec(), "page {n}, byte for byte");
        }
        let (status, _) = get(
            &base,
            &format!("/scrapers/jobs/{id}/results?page=3&limit=100"),
        )
        .unwrap();
        assert!(status.contains("404"), "a page not captured: {status}");
        let (status, body) = get(&base, &format!("/files/{id}.json")).unwrap();
        assert!(status.contains("200"), "{status}");
        assert_eq!(body, b"[\n{\"a\":1}\n]");
        assert!(
            nginx.cpu_seconds() > 0.0,
            "the workers' CPU is read (found as the master's children)"
        );

        drop(nginx);
        assert!(
            get(&base, &format!("/scrapers/jobs/{id}")).is_err(),
            "nginx still answers after the drop"
        );
    }

    #[test]
    fn page_numbers_come_from_the_query() {
        assert_eq!(
            page_of("/scrapers/jobs/7/results?page=12&limit=100"),
            Some(12)
        );
        assert_eq!(
            page_of("/scrapers/jobs/7/results?limit=100&page=3"),
            Some(3)
        );
        assert_eq!(page_of("/scrapers/jobs/7"), None);
        assert_eq!(page_of("/files/7.json"), None);
    }
}
