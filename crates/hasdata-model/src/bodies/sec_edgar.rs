//! `sec-edgar`: bulk SEC filings by CIK, ticker or company name.

use super::{BodyRules, job_body};
use crate::validate::Checker;

job_body! {
    /// The body of a `sec-edgar` job.
    pub struct SecEdgarBody {
        required {}
        optional {
            /// Companies: CIKs, tickers or names, mixed (`["AAPL", "789019", "Alphabet Inc."]`).
            ciks: Vec<String> = "ciks",
            /// Filing types as one **comma-separated string** (`"10-K, 10-Q, 8-K"`), not a list.
            filing_types: String = "filingTypes",
            /// The first filing date, `YYYY-MM-DD`.
            start_date: String = "startDate",
            /// The last filing date, `YYYY-MM-DD`.
            end_date: String = "endDate",
        }
    }
}

impl BodyRules for SecEdgarBody {
    fn check_rules(&self, checker: &mut Checker) {
        for (i, cik) in self.ciks.iter().flatten().enumerate() {
            checker.non_blank(&format!("ciks[{i}]"), cik);
        }
        if let Some(types) = &self.filing_types
            && types.split(',').any(|t| t.trim().is_empty())
        {
            checker.fail(
                "filingTypes",
                format!(
                    "expected comma-separated filing types such as \"10-K, 10-Q\", got {types:?}"
                ),
            );
        }
        if let Some(date) = &self.start_date {
            checker.date("startDate", date);
        }
        if let Some(date) = &self.end_date {
            checker.date("endDate", date);
        }
        checker.date_order(
            "endDate",
            self.start_date.as_deref(),
            self.end_date.as_deref(),
        );
    }
}
