//! Response bodies that can be collected or streamed.
//!
//! A finished job's `data.json` can be hundreds of megabytes, so a response body is not
//! `Bytes`: it is either already in memory (mocks, replays, small API answers) or a stream of
//! chunks read from the socket as the caller consumes them.

use std::fmt;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::error::TransportError;

/// The body of a response.
pub struct Body {
    inner: Inner,
    /// The length the server announced (`Content-Length` of the body as read), if any: a
    /// hint for sizing the buffer a collected body goes into, never trusted past a limit.
    length_hint: Option<u64>,
}

/// The most a collected body's buffer is sized ahead from its [`Body::length_hint`]: a
/// results page fits, and a server announcing a huge length gets no huge allocation for it
/// (the buffer grows from there as bytes actually come).
pub const MAX_PRESIZE: usize = 1 << 20;

/// What a streamed body collected so far is.
enum Collected {
    Nothing,
    /// One chunk: returned as it is, no copy, when no other follows.
    One(Bytes),
    Many(BytesMut),
}

enum Inner {
    Full(Bytes),
    Streaming(BoxStream<'static, Result<Bytes, TransportError>>),
}

impl Body {
    /// A body already in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Body {
            inner: Inner::Full(bytes.into()),
            length_hint: None,
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Body::from_bytes(Bytes::new())
    }

    /// A body read chunk by chunk from `stream`.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        Body {
            inner: Inner::Streaming(stream.boxed()),
            length_hint: None,
        }
    }

    /// The same body, with the length its server announced (`Content-Length`), which sizes
    /// the buffer [`Body::bytes_limited`] collects into (up to [`MAX_PRESIZE`]; never past
    /// the limit) instead of growing it chunk by chunk.
    pub fn with_length_hint(mut self, length: Option<u64>) -> Self {
        self.length_hint = length;
        self
    }

    /// The length the server announced, when it did.
    pub fn length_hint(&self) -> Option<u64> {
        self.length_hint
    }

    /// The bytes, if the body is already in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.inner {
            Inner::Full(bytes) => Some(bytes),
            Inner::Streaming(_) => None,
        }
    }

    /// Reads the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes, TransportError> {
        self.bytes_limited(usize::MAX).await
    }

    /// Reads the whole body into memory, failing once it grows past `limit` bytes, so a
    /// misbehaving server cannot exhaust memory through an API answer.
    pub async fn bytes_limited(self, limit: usize) -> Result<Bytes, TransportError> {
        match self.inner {
            Inner::Full(bytes) if bytes.len() <= limit => Ok(bytes),
            Inner::Full(bytes) => Err(TransportError::body_too_large(limit, bytes.len())),
            Inner::Streaming(mut chunks) => {
                let mut collected = Collected::Nothing;
                let mut length = 0usize;
                while let Some(chunk) = chunks.next().await {
                    let chunk = chunk?;
                    length = length.saturating_add(chunk.len());
                    if length > limit {
                        return Err(TransportError::body_too_large(limit, length));
                    }
                    collected = match collected {
                        _ if chunk.is_empty() => collected,
                        Collected::Nothing => Collected::One(chunk),
                        Collected::One(first) => {
                            // Sized for the whole body once, rather than doubled as it comes.
                            let announced = self
                                .length_hint
                                .and_then(|hint| usize::try_from(hint).ok())
                                .unwrap_or(0)
                                .min(limit)
                                .min(MAX_PRESIZE);
                            let mut buffer = BytesMut::with_capacity(announced.max(length));
                            buffer.extend_from_slice(&first);
                            buffer.extend_from_slice(&chunk);
                            Collected::Many(buffer)
                        }
                        Collected::Many(mut buffer) => {
                            buffer.extend_from_slice(&chunk);
                            Collected::Many(buffer)
                        }
                    };
                }
                Ok(match collected {
                    Collected::Nothing => Bytes::new(),
                    Collected::One(chunk) => chunk,
                    Collected::Many(buffer) => buffer.freeze(),
                })
            }
        }
    }

    /// The body as a stream of chunks, read as the caller polls.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, TransportError>> {
        match self.inner {
            Inner::Full(bytes) if bytes.is_empty() => stream::empty().boxed(),
            Inner::Full(bytes) => stream::once(async move { Ok(bytes) }).boxed(),
            Inner::Streaming(chunks) => chunks,
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match &mut self.inner {
            Inner::Full(bytes) if bytes.is_empty() => std::task::Poll::Ready(None),
            Inner::Full(bytes) => std::task::Poll::Ready(Some(Ok(std::mem::take(bytes)))),
            Inner::Streaming(chunks) => chunks.poll_next_unpin(cx),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::from_bytes(bytes)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from_bytes(text)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from_bytes(text)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from_bytes(bytes)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Full(bytes) => write!(f, "Body({} bytes)", bytes.len()),
            Inner::Streaming(_) => f.write_str("Body(streaming)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_limit_is_inclusive_and_sums_every_chunk() {
        let chunks = || {
            stream::iter(vec![
                Ok(Bytes::from_static(b"abc")),
                Ok(Bytes::from_static(b"de")),
                Ok(Bytes::from_static(b"f")),
            ])
        };
        // Exactly the limit is fine; one byte over is not, and the error gives the size.
        let exact = Body::from_stream(chunks()).bytes_limited(6).await;
        assert_eq!(exact.expect("fits"), Bytes::from_static(b"abcdef"));
        let over = Body::from_stream(chunks()).bytes_limited(5).await;
        let error = over.expect_err("too large");
        assert!(error.to_string().contains('6'), "{error}");
        assert!(Body::from_bytes("abc").bytes_limited(3).await.is_ok());
    }

    #[tokio::test]
    async fn a_body_of_one_chunk_is_returned_as_that_chunk_without_a_copy() {
        let chunk = Bytes::from(vec![7u8; 48 * 1024]);
        let parts = vec![Ok(Bytes::new()), Ok(chunk.clone()), Ok(Bytes::new())];
        let body = Body::from_stream(stream::iter(parts)).with_length_hint(Some(48 * 1024));
        assert_eq!(body.length_hint(), Some(48 * 1024));
        let collected = body.bytes_limited(1 << 20).await.expect("fits");
        assert_eq!(
            collected.as_ptr(),
            chunk.as_ptr(),
            "the chunk itself, not a copy"
        );
        assert_eq!(collected, chunk);
        let empty = Body::from_stream(stream::iter(vec![Ok(Bytes::new())]));
        assert_eq!(empty.bytes().await.expect("empty"), Bytes::new());
    }

    #[tokio::test]
    async fn an_announced_length_never_sizes_the_buffer_past_what_is_sane() {
        let chunks = || {
            stream::iter(vec![
                Ok(Bytes::from_static(b"ab")),
                Ok(Bytes::from_static(b"cd")),
            ])
        };
        // A server announcing more than memory holds: sizing the buffer from it would abort
        // the process (capacity overflow); the bytes that came are collected as usual.
        for lie in [u64::MAX, 1 << 40, 3, 0] {
            let body = Body::from_stream(chunks()).with_length_hint(Some(lie));
            assert_eq!(
                body.bytes().await.expect("collects"),
                Bytes::from_static(b"abcd")
            );
        }
        let body = Body::from_stream(chunks()).with_length_hint(Some(u64::MAX));
        assert!(body.bytes_limited(3).await.is_err());
        assert_eq!(Body::from_bytes("x").length_hint(), None);
    }

    #[tokio::test]
    async fn bytes_in_memory_are_visible_and_streamed_once() {
        let body = Body::from_bytes("hello");
        assert_eq!(body.as_bytes(), Some(&Bytes::from_static(b"hello")));
        let parts: Vec<_> = body.into_stream().collect().await;
        assert_eq!(parts.len(), 1);
        assert_eq!(
            parts[0].as_ref().expect("ok"),
            &Bytes::from_static(b"hello")
        );
        let streaming = Body::from_stream(stream::iter(vec![Ok(Bytes::from_static(b"x"))]));
        assert!(streaming.as_bytes().is_none());
    }

    #[tokio::test]
    async fn streams_collect_and_respect_the_limit() {
        let chunks = vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))];
        let body = Body::from_stream(stream::iter(chunks.clone()));
        assert_eq!(
            body.bytes().await.expect("collects"),
            Bytes::from_static(b"abcd")
        );
        let body = Body::from_stream(stream::iter(chunks));
        assert!(body.bytes_limited(3).await.is_err());
        assert!(Body::from_bytes("abcd").bytes_limited(3).await.is_err());
        let parts: Vec<_> = StreamExt::collect::<Vec<_>>(Body::from_bytes("xy")).await;
        assert_eq!(parts.len(), 1);
        assert_eq!(Body::empty().into_stream().count().await, 0);
    }

    #[tokio::test]
    async fn polled_as_a_stream_a_body_in_memory_yields_once_then_ends() {
        let mut body = Body::from_bytes("hi");
        assert_eq!(
            body.next().await.expect("one chunk").expect("ok"),
            Bytes::from_static(b"hi")
        );
        assert!(body.next().await.is_none());
        // An empty body ends at once, and stays ended.
        let mut empty = Body::empty();
        assert!(empty.next().await.is_none());
        assert!(empty.next().await.is_none());
        let mut streaming = Body::from_stream(stream::iter(vec![Ok(Bytes::from_static(b"s"))]));
        assert_eq!(
            streaming.next().await.expect("chunk").expect("ok"),
            Bytes::from_static(b"s")
        );
        assert!(streaming.next().await.is_none());
    }

    proptest::proptest! {
        /// However a body is cut into chunks and whatever length its server announced, it
        /// collects to its bytes when they fit the limit, and to an error naming the size
        /// when they do not.
        #[test]
        fn any_chunking_and_any_announced_length_collect_the_same_bytes(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..8),
            hint in proptest::option::of(proptest::prop_oneof![0u64..400, proptest::num::u64::ANY]),
            limit in 0usize..200,
        ) {
            let whole: Vec<u8> = chunks.concat();
            let parts: Vec<_> = chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
            let body = Body::from_stream(stream::iter(parts)).with_length_hint(hint);
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let collected = runtime.block_on(body.bytes_limited(limit));
            if whole.len() <= limit {
                proptest::prop_assert_eq!(collected.expect("fits"), Bytes::from(whole));
            } else {
                proptest::prop_assert!(collected.is_err());
            }
        }
    }

    #[test]
    fn every_conversion_keeps_the_bytes_and_debug_shows_only_the_size() {
        let expected = Bytes::from_static(b"abc");
        let bodies = [
            Body::from(Bytes::from_static(b"abc")),
            Body::from("abc"),
            Body::from(String::from("abc")),
            Body::from(b"abc".to_vec()),
        ];
        for body in bodies {
            assert_eq!(body.as_bytes(), Some(&expected));
            assert_eq!(format!("{body:?}"), "Body(3 bytes)");
        }
        assert_eq!(Body::default().as_bytes(), Some(&Bytes::new()));
        assert_eq!(Body::empty().as_bytes(), Some(&Bytes::new()));
        let streaming = Body::from_stream(stream::empty());
        assert_eq!(format!("{streaming:?}"), "Body(streaming)");
    }
}
