//! The SDK's messages in the command line's words: the SDK names its settings
//! (`allow_fast_polling`), a shell user knows the flags (`--allow-fast-polling`).

/// SDK phrases and the flags they stand for here.
const FLAGS: &[(&str, &str)] = &[
    (
        "set allow_fast_polling to override",
        "pass --allow-fast-polling to override",
    ),
    ("a first poll interval of ", "--poll-initial "),
    ("poll cap ", "--poll-cap "),
    ("the first interval ", "--poll-initial "),
];

/// `message` with each SDK setting it names replaced by its flag.
pub fn in_flags(message: String) -> String {
    FLAGS
        .iter()
        .fold(message, |text, (sdk, flag)| text.replace(sdk, flag))
}
