//! Bad server input gives an error that names the field and keeps a snippet of the body.

use hasdata_model::decode::from_slice;
use hasdata_model::rows::ContactsRow;
use hasdata_model::{Job, JobId, ResultsPage};

#[test]
fn null_emails_is_an_error_naming_emails() {
    let err =
        from_slice::<ContactsRow>(br#"{"url": "https://a.example", "emails": null}"#).unwrap_err();
    assert_eq!(err.path, "emails");
    assert!(err.message.contains("null"), "{err}");
    assert!(err.snippet.contains("\"emails\": null"));
    assert!(err.to_string().contains("`emails`"));
}

#[test]
fn a_non_numeric_id_is_an_error_naming_id() {
    let err = from_slice::<Job>(br#"{"id": "abc", "status": "pending"}"#).unwrap_err();
    assert_eq!(err.path, "id");
    assert!(err.message.contains("job id"), "{err}");
    let uuid = from_slice::<JobId>(br#""0b9c7a52-1f0e-4c41-a7c9-5e6f0e8d2a11""#);
    assert!(uuid.is_err(), "a UUID is not a job id");
    assert!("abc".parse::<JobId>().is_err());
    assert_eq!(" 42 ".parse::<JobId>(), Ok(JobId(42)));
}

#[test]
fn a_negative_count_is_an_error_naming_the_count() {
    let err =
        from_slice::<Job>(br#"{"id": 1, "status": "pending", "creditsSpent": -5}"#).unwrap_err();
    assert_eq!(err.path, "creditsSpent");
    assert!(
        err.message.contains("-5") && err.message.contains("non-negative"),
        "{err}"
    );
    let err = from_slice::<Job>(br#"{"id": 1, "status": "pending", "dataRowsCount": "1.5"}"#)
        .unwrap_err();
    assert_eq!(err.path, "dataRowsCount");
}

#[test]
fn a_bad_row_deep_in_a_page_is_located() {
    let body = br#"{"meta": {"total": 2, "perPage": 100, "currentPage": 1, "lastPage": 1},
        "data": [
          {"id": "a", "jobId": 1, "dataId": "x", "data": {"url": "https://a.example"}},
          {"id": "b", "jobId": 1, "dataId": "y", "data": {"url": "https://b.example", "phoneNumbers": "none"}}
        ]}"#;
    let err = from_slice::<ResultsPage<ContactsRow>>(body).unwrap_err();
    assert_eq!(err.path, "data[1].data.phoneNumbers");
}

#[test]
fn truncated_and_trailing_garbage_bodies_are_errors() {
    assert!(from_slice::<Job>(br#"{"id": 1, "status": "pen"#).is_err());
    assert!(from_slice::<Job>(br#"{"id": 1, "status": "pending"} trailing"#).is_err());
    assert!(
        from_slice::<Job>(b"<html>502 Bad Gateway</html>")
            .unwrap_err()
            .snippet
            .contains("502")
    );
}
