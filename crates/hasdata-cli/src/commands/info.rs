//! `hasdata scrapers` and `hasdata schema`.

use std::str::FromStr;

use hasdata_cli::output::ScraperOut;
use hasdata_model::ScraperKind;

use crate::args::SchemaArgs;
use crate::context::Ctx;
use crate::fail::Failure;

pub fn scrapers(ctx: &Ctx) -> Result<(), Failure> {
    for kind in ScraperKind::ALL {
        ctx.emit(
            || kind.as_str().to_owned(),
            serde_json::to_value(ScraperOut {
                slug: kind.as_str().into(),
                row_shape_known: kind.row_shape_known(),
            })
            .unwrap_or_default(),
        );
    }
    Ok(())
}

pub fn schema(ctx: &Ctx, args: &SchemaArgs) -> Result<(), Failure> {
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let schema = if args.row {
        kind.row_schema()
    } else {
        kind.body_schema()
    };
    let value = schema.to_value();
    if ctx.global.json {
        crate::context::out_line(&value.to_string());
    } else {
        crate::context::out_line(&serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    Ok(())
}
