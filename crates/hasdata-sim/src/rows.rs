//! Realistic rows, generated on demand: the same (job id, index) gives the same row on every
//! run, and no row is ever stored.
//!
//! Shapes follow the API's known rows on the facts sheet: contacts with empty lists for missing
//! categories, crawler pages with one key per output format, SERP results, Maps places, Zillow
//! properties; other scrapers get plausible listing rows.

use serde_json::{Value, json};

use crate::mix::{mix, pick, unit};
use crate::scrapers::{Family, Scraper};

const FIRST_NAMES: &[&str] = &[
    "ana", "ben", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jo",
];
const TOPICS: &[&str] = &[
    "pricing", "docs", "blog", "careers", "support", "about", "team", "api", "guides", "news",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Austin", "TX", "78701"),
    ("New York", "NY", "10075"),
    ("Seattle", "WA", "98101"),
    ("Denver", "CO", "80202"),
    ("Miami", "FL", "33131"),
];

/// The strings of a list field of the body, or `fallback` when there are none.
fn strings(body: &Value, field: &str, fallback: &str) -> Vec<String> {
    let list: Vec<String> = body
        .get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        vec![fallback.to_owned()]
    } else {
        list
    }
}

fn text(body: &Value, field: &str, fallback: &str) -> String {
    body.get(field)
        .and_then(Value::as_str)
        .unwrap_or(fallback)
        .to_owned()
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("example.com")
        .to_owned()
}

/// Row `index` of job `job_id`, a `scraper` job submitted with `body`.
pub fn row(scraper: Scraper, body: &Value, job_id: u64, index: u64) -> Value {
    let seed = |salt: u64| [job_id, index, salt];
    match scraper.family() {
        Family::Contacts => {
            let urls = strings(body, "urls", "https://example.com");
            let url = &urls[(index as usize) % urls.len()];
            let host = host_of(url).trim_start_matches("www.").to_owned();
            let some = |salt: u64, value: String| {
                if unit(&seed(salt)) < 0.5 {
                    vec![value]
                } else {
                    Vec::new()
                }
            };
            let name = pick(FIRST_NAMES, &seed(1));
            json!({
                "url": url,
                "emails": [format!("{name}@{host}")],
                "phoneNumbers": some(2, format!("+1 555 {:04}", mix(&seed(3)) % 10_000)),
                "linkedin": some(4, format!("https://www.linkedin.com/company/{host}")),
                "xcom": some(5, format!("https://x.com/{}", host.replace('.', "_"))),
                "facebook": some(6, format!("https://www.facebook.com/{host}")),
                "instagram": some(7, format!("https://www.instagram.com/{}", host.replace('.', ""))),
                "dribbble": Vec::<String>::new(),
                "clutch": Vec::<String>::new(),
            })
        }
        Family::Crawler => {
            let seeds = strings(body, "urls", "https://example.com");
            let start = seeds[(index as usize) % seeds.len()]
                .trim_end_matches('/')
                .to_owned();
            let topic = pick(TOPICS, &seed(1));
            let url = if index < seeds.len() as u64 {
                start.clone()
            } else {
                format!("{start}/{topic}/{index}")
            };
            let title = format!("{} {}", capitalize(topic), index);
            let text_body = format!("{title}. Everything about {topic} on {}.", host_of(&start));
            let mut page = json!({
                "url": url,
                "statusCode": 200,
                "statusText": "OK",
                "title": title,
                "text": text_body,
                "depth": if index < seeds.len() as u64 { 0 } else { 1 + mix(&seed(2)) % 3 },
                "error": null,
            });
            for format in strings(body, "outputFormat", "text") {
                let value = match format.as_str() {
                    "markdown" => json!(format!("# {title}\n\n{text_body}")),
                    "html" => json!(format!(
                        "<html><head><title>{title}</title></head><body><p>{text_body}</p></body></html>"
                    )),
                    "json" => json!({"title": title, "paragraphs": [text_body]}),
                    _ => continue,
                };
                page[format] = value;
            }
            page
        }
        Family::GoogleSerp => {
            let keywords = strings(body, "keywords", "coffee");
            let keyword = &keywords[(index as usize) % keywords.len()];
            let position = index / keywords.len() as u64 + 1;
            let site = format!("{}{}.com", keyword.replace(' ', ""), mix(&seed(1)) % 100);
            json!({
                "position": position,
                "keyword": keyword,
                "location": text(body, "location", "Austin,Texas,United States"),
                "title": format!("{} - result {position}", capitalize(keyword)),
                "link": format!("https://www.{site}/{}", pick(TOPICS, &seed(2))),
                "displayedLink": format!("https://www.{site} › {}", pick(TOPICS, &seed(2))),
                "snippet": format!("Everything about {keyword}: guides, prices and reviews."),
                "snippetHighlightedWords": [keyword],
                "source": site,
            })
        }
        Family::GoogleMaps => {
            let keywords = strings(body, "keywords", "pizza");
            let keyword = &keywords[(index as usize) % keywords.len()];
            let (city, state, zip) = *pick(CITIES, &seed(1));
            let mut place = json!({
                "title": format!("{} {} #{index}", capitalize(keyword), city),
                "address": format!("{} Main St, {city}, {state} {zip}", 1 + mix(&seed(2)) % 999),
                "phone": format!("+1 555-{:03}-{:04}", mix(&seed(3)) % 1000, mix(&seed(4)) % 10_000),
                "website": format!("https://{}-{index}.example", keyword.replace(' ', "-")),
                "rating": (30 + mix(&seed(5)) % 21) as f64 / 10.0,
                "reviews": mix(&seed(6)) % 5_000,
                "place_id": format!("ChIJ{:016x}", mix(&seed(7))),
                "coordinates": {"latitude": 30.0 + unit(&seed(8)) * 10.0, "longitude": -100.0 + unit(&seed(9)) * 20.0},
                "workingHours": {"Monday": "9 AM–9 PM"},
                "openState": "Open ⋅ Closes 9 PM",
            });
            if body.get("extractEmails").and_then(Value::as_bool) == Some(true) {
                place["emails"] = json!([format!(
                    "hello@{}-{index}.example",
                    keyword.replace(' ', "-")
                )]);
            }
            place
        }
        Family::Zillow => {
            let (city, state, zip) = *pick(CITIES, &seed(1));
            json!({
                "price": format!("${}", 200_000 + mix(&seed(2)) % 2_000_000),
                "address": format!("{} Oak Ave", 1 + mix(&seed(3)) % 999),
                "fullAddress": format!("{} Oak Ave, {city}, {state} {zip}", 1 + mix(&seed(3)) % 999),
                "city": city,
                "state": state,
                "zipcode": zip,
                "homeType": *pick(&["SINGLE_FAMILY", "CONDO", "TOWNHOUSE"], &seed(4)),
                "bedrooms": 1 + mix(&seed(5)) % 5,
                "baths": 1 + mix(&seed(6)) % 4,
                "photos": [format!("https://photos.example/{job_id}/{index}/1.jpg")],
                "yearBuilt": 1950 + mix(&seed(7)) % 75,
                "daysOnZillow": mix(&seed(8)) % 120,
                "agentName": format!("{} Realty", capitalize(pick::<&str>(FIRST_NAMES, &seed(9)))),
                "zpid": 30_000_000 + mix(&seed(10)) % 1_000_000,
            })
        }
        Family::Listing => {
            let slug = scraper.slug();
            let keywords = strings(body, "keywords", &text(body, "keyword", slug));
            let keyword = &keywords[(index as usize) % keywords.len()];
            json!({
                "position": index + 1,
                "keyword": keyword,
                "title": format!("{} {} #{index}", capitalize(keyword), pick(TOPICS, &seed(1))),
                "url": format!("https://{slug}.example/items/{job_id}-{index}"),
                "price": (mix(&seed(2)) % 100_000) as f64 / 100.0,
                "rating": (10 + mix(&seed(3)) % 41) as f64 / 10.0,
            })
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The column names the submit record lists.
pub fn columns(scraper: Scraper, body: &Value) -> Vec<String> {
    match row(scraper, body, 0, 0) {
        Value::Object(fields) => fields.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scraper(slug: &str) -> Scraper {
        Scraper::from_slug(slug).unwrap()
    }

    #[test]
    fn every_slug_produces_deterministic_object_rows() {
        let body = json!({"urls": ["https://example.com/about"], "keywords": ["coffee"], "outputFormat": ["markdown", "html"], "extractEmails": true});
        for scraper in Scraper::all() {
            for index in [0, 1, 57] {
                let generated = row(scraper, &body, 416_349, index);
                assert!(generated.is_object(), "{}: {generated}", scraper.slug());
                assert_eq!(
                    generated,
                    row(scraper, &body, 416_349, index),
                    "deterministic"
                );
            }
        }
    }

    #[test]
    fn contacts_rows_follow_the_input_urls_and_never_hold_null() {
        let body = json!({"urls": ["https://a.example/x", "https://b.example/y"]});
        let first = row(scraper("contacts"), &body, 1, 0);
        let second = row(scraper("contacts"), &body, 1, 1);
        assert_eq!(first["url"], "https://a.example/x");
        assert_eq!(second["url"], "https://b.example/y");
        for field in [
            "emails",
            "phoneNumbers",
            "linkedin",
            "xcom",
            "facebook",
            "instagram",
            "dribbble",
            "clutch",
        ] {
            assert!(first[field].is_array(), "{field}");
        }
    }

    #[test]
    fn crawler_rows_carry_the_formats_asked_for() {
        let body = json!({"urls": ["https://docs.example.com"], "outputFormat": ["markdown"]});
        let page = row(scraper("crawler"), &body, 1, 3);
        assert!(
            page["markdown"]
                .as_str()
                .is_some_and(|m| m.starts_with("# "))
        );
        assert!(page.get("html").is_none());
    }
}
