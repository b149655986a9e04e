//! TLS to PostgreSQL over the workspace's rustls (ring provider), with libpq's meanings of
//! `sslmode`, so a URL that works with `psql` works here:
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted, the certificate **not** verified (libpq's
//!   own meaning: protection from eavesdroppers, not from a host in the middle); `prefer` falls
//!   back to plain TCP when the server has no TLS, `require` fails;
//! - `verify-ca`: encrypted, the chain verified against the roots, any host name;
//! - `verify-full`: encrypted, the chain and the host name verified.
//!
//! The roots are the file named by `sslrootcert` (PEM), else the Mozilla roots (webpki-roots).
//! A client certificate (for a server whose `pg_hba.conf` says `clientcert=verify-ca|full` or
//! `cert`) is the PEM chain of `sslcert` with the PEM private key of `sslkey` (PKCS#8, PKCS#1
//! or SEC1; unencrypted: `sslpassword` is not read), given together.
//! tokio-postgres reads only `disable|prefer|require` and none of the files, so [`split`] takes
//! those settings out of the URL before tokio-postgres parses the rest.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// How much of the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Nothing (`prefer`, `require`): encryption only.
    Nothing,
    /// The chain, not the host name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// The TLS settings of a URL, and the URL left for tokio-postgres.
#[derive(Debug)]
pub(crate) struct Split {
    /// The URL without `sslrootcert`, and with `verify-*` read as `require`.
    pub url: String,
    pub verify: Verify,
    pub root_cert: Option<PathBuf>,
    /// The client's certificate chain (`sslcert`).
    pub client_cert: Option<PathBuf>,
    /// The client's private key (`sslkey`).
    pub client_key: Option<PathBuf>,
}

/// Takes `sslmode=verify-ca|verify-full` and `sslrootcert=PATH` out of `url` (a
/// `postgres://` URL's query, or a `key=value` string).
pub(crate) fn split(url: &str) -> Split {
    let mut verify = Verify::Nothing;
    let mut root_cert = None;
    let mut client_cert = None;
    let mut client_key = None;
    let mut take = |key: &str, value: &str| -> Option<String> {
        match (key, value) {
            ("sslmode", "verify-ca") => {
                verify = Verify::Chain;
                Some("require".into())
            }
            ("sslmode", "verify-full") => {
                verify = Verify::Full;
                Some("require".into())
            }
            ("sslrootcert", path) => {
                root_cert = Some(PathBuf::from(percent_decoded(path)));
                None
            }
            ("sslcert", path) => {
                client_cert = Some(PathBuf::from(percent_decoded(path)));
                None
            }
            ("sslkey", path) => {
                client_key = Some(PathBuf::from(percent_decoded(path)));
                None
            }
            _ => Some(value.to_owned()),
        }
    };
    let url = match url.split_once('?') {
        Some((base, query)) if url.contains("://") => {
            let kept: Vec<String> = query
                .split('&')
                .filter_map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    take(key, value).map(|value| format!("{key}={value}"))
                })
                .collect();
            if kept.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        Some(_) | None if url.contains("://") => url.to_owned(),
        _ => url
            .split_whitespace()
            .filter_map(|token| match token.split_once('=') {
                Some((key, value)) => take(key, value).map(|value| format!("{key}={value}")),
                None => Some(token.to_owned()),
            })
            .collect::<Vec<_>>()
            .join(" "),
    };
    Split {
        url,
        verify,
        root_cert,
        client_cert,
        client_key,
    }
}

/// `%XX` escapes decoded (a path in a URL's query); anything malformed is kept as written.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client certificate chain and key of `sslcert` and `sslkey`, which come together. The
/// key's bytes never reach an error: only its path and the parser's kind of complaint do.
fn client_identity(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => {
            return Err("sslcert needs sslkey: give the client's private key file too".into());
        }
        (None, Some(_)) => {
            return Err("sslkey needs sslcert: give the client's certificate file too".into());
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("sslcert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("sslcert {}: no certificate in it", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::Io(io) => io.to_string(),
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no unencrypted private key (PKCS#8, PKCS#1 or SEC1 PEM) in it".to_owned()
            }
            _ => "not a PEM private key".to_owned(),
        };
        format!("sslkey {}: {why}", key.display())
    })?;
    Ok(Some((chain, private)))
}

/// A rustls client configuration for `verify` with the roots of `root_cert` (or Mozilla's),
/// presenting the client certificate of `client_cert` and `client_key` when given.
pub(crate) fn connector(
    verify: Verify,
    root_cert: Option<&std::path::Path>,
    client_cert: Option<&std::path::Path>,
    client_key: Option<&std::path::Path>,
) -> Result<RustlsConnector, String> {
    let identity = client_identity(client_cert, client_key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {}: no certificate in it",
                    path.display()
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let wants_auth = match verify {
        Verify::Full => builder.with_root_certificates(roots),
        Verify::Chain | Verify::Nothing => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("TLS setup: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Lenient {
                    webpki,
                    algorithms: provider.signature_verification_algorithms,
                    chain: verify == Verify::Chain,
                }))
        }
    };
    let config = match identity {
        None => wants_auth.with_no_client_auth(),
        Some((chain, key)) => wants_auth
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("sslcert/sslkey: {e}"))?,
    };
    Ok(RustlsConnector {
        config: Arc::new(config),
    })
}

/// The verifier of `require` (nothing checked but the handshake's signatures) and `verify-ca`
/// (the chain, any host name).
#[derive(Debug)]
struct Lenient {
    webpki: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
    /// Verify the chain (`verify-ca`).
    chain: bool,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.chain {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Makes a TLS connector per connection (tokio-postgres' `MakeTlsConnect`).
#[derive(Clone)]
pub struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for RustlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsConnector").finish_non_exhaustive()
    }
}

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    /// `domain` is empty for a Unix-domain socket (`host=/run/postgresql`): tokio-postgres asks
    /// for a connector before every connection, but never hands a socket without a host name to
    /// it (and PostgreSQL offers no TLS on Unix sockets), so an empty name must not be an error.
    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = if domain.is_empty() {
            None
        } else {
            Some(
                ServerName::try_from(domain.to_owned())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            )
        };
        Ok(RustlsConnect {
            name,
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
        })
    }
}

/// One connection's handshake.
pub struct RustlsConnect {
    /// `None` on a Unix-domain socket, where no handshake happens.
    name: Option<ServerName<'static>>,
    connector: tokio_rustls::TlsConnector,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "TLS needs a host name, and a Unix-domain socket has none",
                )
            })?;
            self.connector
                .connect(name, stream)
                .await
                .map(|stream| RustlsStream(Box::new(stream)))
        })
    }
}

/// An encrypted connection.
pub struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl TlsStream for RustlsStream {
    /// No channel binding: SCRAM without `-PLUS` (what libpq does with `channel_binding=prefer`
    /// when the server offers no binding it can use).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_and_the_root_file_are_taken_out_of_a_url() {
        let split_url = split(
            "postgres://u:p@db/x?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=5",
        );
        assert_eq!(
            split_url.url,
            "postgres://u:p@db/x?sslmode=require&connect_timeout=5"
        );
        assert_eq!(split_url.verify, Verify::Full);
        assert_eq!(split_url.root_cert, Some(PathBuf::from("/tmp/ca.pem")));
        let ca = split("postgres://db/x?sslmode=verify-ca");
        assert_eq!(
            (ca.url.as_str(), ca.verify),
            ("postgres://db/x?sslmode=require", Verify::Chain)
        );
        let plain = split("postgres://db/x?sslmode=require");
        assert_eq!(
            (plain.url.as_str(), plain.verify),
            ("postgres://db/x?sslmode=require", Verify::Nothing)
        );
        assert_eq!(split("postgres://db/x").url, "postgres://db/x");
        let kv = split("host=db sslmode=verify-full sslrootcert=/ca.pem user=u");
        assert_eq!(kv.url, "host=db sslmode=require user=u");
        assert_eq!(kv.verify, Verify::Full);
        assert_eq!(kv.root_cert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn a_missing_root_file_is_named() {
        let error = connector(
            Verify::Full,
            Some(std::path::Path::new("/no/such/ca.pem")),
            None,
            None,
        )
        .unwrap_err();
        assert!(error.contains("sslrootcert /no/such/ca.pem"), "{error}");
    }

    #[test]
    fn client_certificate_files_are_taken_out_and_come_in_pairs() {
        let split_url = split(
            "postgres://u@db/x?sslmode=verify-full&sslcert=%2Fk%2Fc.pem&sslkey=/k/c.key&application_name=a",
        );
        assert_eq!(
            split_url.url,
            "postgres://u@db/x?sslmode=require&application_name=a"
        );
        assert_eq!(split_url.client_cert, Some(PathBuf::from("/k/c.pem")));
        assert_eq!(split_url.client_key, Some(PathBuf::from("/k/c.key")));
        let kv = split("host=db sslcert=/c.pem sslkey=/c.key");
        assert_eq!(kv.url, "host=db");
        assert_eq!(kv.client_cert, Some(PathBuf::from("/c.pem")));
        let path = |p: &'static str| Some(std::path::Path::new(p));
        let alone = connector(Verify::Nothing, None, path("/c.pem"), None).unwrap_err();
        assert!(alone.contains("sslcert needs sslkey"), "{alone}");
        let alone = connector(Verify::Nothing, None, None, path("/c.key")).unwrap_err();
        assert!(alone.contains("sslkey needs sslcert"), "{alone}");
        let missing =
            connector(Verify::Nothing, None, path("/no/c.pem"), path("/no/c.key")).unwrap_err();
        assert!(missing.contains("sslcert /no/c.pem"), "{missing}");
    }

    #[test]
    fn a_key_file_that_is_no_key_is_named_without_its_contents() {
        let dir = std::env::temp_dir().join(format!("hasdata-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("c.pem");
        // Any certificate parses as a chain here; the key file holds something else.
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let key = dir.join("c.key");
        std::fs::write(&key, "secret-bytes-never-shown\n").unwrap();
        let error = connector(Verify::Nothing, None, Some(&cert), Some(&key)).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        assert!(error.contains("sslkey"), "{error}");
        assert!(!error.contains("secret-bytes-never-shown"), "{error}");
    }
}
