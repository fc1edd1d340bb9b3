//! Global Catalog (`https://globalcatalog.cloud.ibm.com/api/v1`): read-only lookups of services
//! and their plans. Paths are absolute from the host (`/api/v1/...`). Lists page as
//! `{offset,limit,count,resource_count,first,next,resources[]}`, with `_offset` / `_limit` queries.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{path_segment, Api, Client, Error, Method};

/// Safety stop against a server that keeps sending more pages.
const MAX_PAGES: usize = 1_000;
/// Entries per page asked for (the catalog's largest page).
const PAGE_LIMIT: usize = 200;

/// A plan of a service, as much of it as the provider uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogPlan {
    /// The plan id; Resource Controller's `resource_plan_id`.
    #[serde(default)]
    pub id: String,
    /// Programmatic name, e.g. `lite`.
    #[serde(default)]
    pub name: String,
    /// `plan` for plans.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Where the page after `body` starts, or `None` on the last page. The catalog sends `next` as a
/// URL carrying `_offset`; when it is missing, `offset + count < resource_count` still says that
/// more follow (which of the two IBM always sends is UNCERTAIN, so both are honoured).
fn next_offset(body: &Value, offset: usize, items_on_page: usize) -> Result<Option<usize>, Error> {
    if items_on_page == 0 {
        return Ok(None);
    }
    let link = match body.get("next") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Object(o)) => o.get("href").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned),
        _ => None,
    };
    if let Some(link) = link {
        let base = url::Url::parse("http://placeholder.invalid/").map_err(|e| Error::Decode(e.to_string()))?;
        let url = base.join(&link).map_err(|e| Error::Decode(format!("bad catalog page link {link:?}: {e}")))?;
        let value = url
            .query_pairs()
            .find(|(k, _)| k == "_offset" || k == "offset")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| Error::Decode(format!("catalog page link {link:?} has no _offset")))?;
        return value.parse().map(Some).map_err(|_| Error::Decode(format!("catalog page link {link:?}: bad _offset {value:?}")));
    }
    let page_offset = body.get("offset").and_then(Value::as_u64).map_or(offset, |o| o as usize);
    match body.get("resource_count").and_then(Value::as_u64) {
        Some(total) if page_offset.saturating_add(items_on_page) < total as usize => Ok(Some(page_offset.saturating_add(items_on_page))),
        _ => Ok(None),
    }
}

/// Where a catalog list is: the offset of the next page, and the offsets already fetched.
#[derive(Default)]
pub(crate) struct CatalogPager {
    pub(crate) offset: usize,
    seen: HashSet<usize>,
}

impl CatalogPager {
    /// Adds the entries of a page to `all`; true when another page follows (at `self.offset`).
    pub(crate) fn take_page(&mut self, path: &str, body: &Value, all: &mut Vec<Value>) -> Result<bool, Error> {
        let items = match body.get("resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(other) => return Err(Error::Decode(format!("GET {path}: resources is not a list: {other}"))),
        };
        let n = items.len();
        all.extend(items);
        let Some(next) = next_offset(body, self.offset, n)? else { return Ok(false) };
        if !self.seen.insert(next) || next == self.offset {
            return Err(Error::Decode(format!("GET {path}: the catalog repeated a page (offset {next})")));
        }
        self.offset = next;
        Ok(true)
    }
}

impl Client {
    /// Every entry of a catalog list at `path`, all pages.
    async fn catalog_entries(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Value>, Error> {
        let mut all = Vec::new();
        let mut pager = CatalogPager::default();
        for _ in 0..MAX_PAGES {
            let body = self
                .request(Api::GlobalCatalog, Method::GET, path)
                .query_all(query)
                .query("_offset", pager.offset.to_string())
                .query("_limit", PAGE_LIMIT.to_string())
                .send()
                .await?
                .body;
            if !pager.take_page(path, &body, &mut all)? {
                return Ok(all);
            }
        }
        Err(Error::Decode(format!("GET {path}: more than {MAX_PAGES} pages")))
    }

    /// The plans of the service whose catalog id is `service_id` (e.g. Qiskit Runtime's
    /// `resource_id`): `GET /api/v1/{service_id}/plan`.
    pub async fn list_plans(&self, service_id: &str) -> Result<Vec<CatalogPlan>, Error> {
        let path = format!("/api/v1/{}/plan", path_segment(service_id));
        self.catalog_entries(&path, &[("include", "*")])
            .await?
            .into_iter()
            .map(|v| serde_json::from_value::<CatalogPlan>(v).map_err(|e| Error::Decode(format!("catalog plan: {e}"))))
            // A child list of kind `plan` holds plans only; anything else is ignored rather than misread.
            .filter(|p| !matches!(p, Ok(p) if !p.kind.is_empty() && p.kind != "plan"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
    use serde_json::json;

    #[test]
    fn next_page_from_link_or_count() {
        let link = json!({"next": "https://globalcatalog.cloud.ibm.com/api/v1/s/plan?_offset=200&_limit=200"});
        assert_eq!(next_offset(&link, 0, 200).unwrap(), Some(200));
        let counted = json!({"offset": 2, "count": 2, "resource_count": 5});
        assert_eq!(next_offset(&counted, 2, 2).unwrap(), Some(4));
        assert_eq!(next_offset(&json!({"offset": 4, "resource_count": 5}), 4, 1).unwrap(), None);
        assert_eq!(next_offset(&json!({"next": null, "resource_count": 1}), 0, 1).unwrap(), None);
        assert_eq!(next_offset(&link, 0, 0).unwrap(), None, "an empty page ends the list");
        assert!(next_offset(&json!({"next": "/api/v1/s/plan?_limit=2"}), 0, 2).is_err());
    }

    #[tokio::test]
    async fn plans_are_collected_across_pages() {
        let plans = [("open", "p1"), ("lite", "p2"), ("paygo-standard", "p3")];
        let mock = Mock::start(move |req, _| {
            assert_eq!(req.path, "/api/v1/svc-1/plan");
            let q = query_map(&req.query);
            let offset: usize = q.get("_offset").and_then(|o| o.parse().ok()).unwrap_or(0);
            // Pages of two, the way a server with a smaller maximum page would answer.
            let page: Vec<Value> = plans.iter().skip(offset).take(2).map(|(n, id)| json!({"id": id, "name": n, "kind": "plan"})).collect();
            let mut body = json!({"offset": offset, "limit": 2, "count": page.len(), "resource_count": plans.len(), "resources": page});
            if offset + 2 < plans.len() {
                body["next"] = json!(format!("https://catalog.example/api/v1/svc-1/plan?_offset={}&_limit=2", offset + 2));
            }
            Reply::json(200, body)
        })
        .await;
        let got = test_client(&mock, 0).list_plans("svc-1").await.unwrap();
        let pairs: Vec<(&str, &str)> = got.iter().map(|p| (p.name.as_str(), p.id.as_str())).collect();
        assert_eq!(pairs, plans.to_vec());
        assert_eq!(mock.count("GET", "/api/v1/svc-1/plan"), 2);
    }
}
