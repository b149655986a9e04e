//! `sec-edgar`: bulk SEC filings by CIK, ticker or company name.

use super::{BodyRules, job_body};
use serde_json::{Map, Value};

use crate::validate::{Checker, Evidence, text, texts};

job_body! {
    /// The body of a `sec-edgar` job.
    pub struct SecEdgarBody {
        required {}
        optional {
            /// Companies: CIKs, tickers or names, mixed (`["AAPL", "789019", "Alphabet Inc."]`).
            ciks: Vec<String> = "ciks" [V],
            /// Filing types as one **comma-separated string** (`"10-K, 10-Q, 8-K"`), not a list.
            filing_types: String = "filingTypes" [V],
            /// The first filing date, `YYYY-MM-DD`.
            start_date: String = "startDate" [V],
            /// The last filing date, `YYYY-MM-DD`.
            end_date: String = "endDate" [V],
        }
    }
}

impl BodyRules for SecEdgarBody {
    /// The docs show the fields and their forms by example only: nothing says another date
    /// form (`2024-01`) or a blank entry is refused, so these rules warn.
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        let i = Evidence::Inferred;
        checker.probably_needs(
            body,
            "sec-edgar",
            &["ciks"],
            "the companies to read; the docs' example sets it",
        );
        for (index, cik) in texts(body, "ciks") {
            checker.non_blank(&format!("ciks[{index}]"), cik, i);
        }
        if let Some(types) = text(body, "filingTypes")
            && types.split(',').any(|t| t.trim().is_empty())
        {
            checker.report(
                "filingTypes",
                i,
                format!(
                    "expected comma-separated filing types such as \"10-K, 10-Q\", got {types:?}; sent as written"
                ),
            );
        }
        for key in ["startDate", "endDate"] {
            if let Some(date) = text(body, key) {
                checker.date(key, date, i);
            }
        }
        checker.date_order("endDate", text(body, "startDate"), text(body, "endDate"), i);
    }
}
