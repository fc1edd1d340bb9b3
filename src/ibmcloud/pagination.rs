//! Collecting every page of a list call. IBM's APIs page in four different ways.

use std::collections::HashSet;

use serde_json::Value;

use super::{Api, Client, Error, Method};

/// Safety stop against a server that keeps sending "next".
const MAX_PAGES: usize = 10_000;

/// How a list API says where the next page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStyle {
    /// Access Groups: `next.href` is a URL whose `offset` (and `limit`) query gives the next page.
    NextHref,
    /// Policies v1/v2: `next.start` is a token sent back as `start`.
    NextStart,
    /// Resource Controller / User Management: `next_url` carries `start` or `_start`.
    NextUrl,
    /// Tagging: no link; `offset` += items received, until `total_count` is reached.
    OffsetTotal,
}

/// The query parameters that fetch the page after `body`, or `None` on the last page.
/// `offset` is the offset the current page was requested with (used by `OffsetTotal` only).
pub(crate) fn next_page_params(
    style: PageStyle,
    body: &Value,
    offset: u64,
    items_on_page: usize,
) -> Result<Option<Vec<(String, String)>>, Error> {
    // An empty page never leads anywhere; stopping avoids loops on odd servers.
    if items_on_page == 0 {
        return Ok(None);
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    match style {
        PageStyle::NextHref => {
            let Some(href) = text(body.pointer("/next/href")) else { return Ok(None) };
            let params = url_params(&href)?;
            let offset =
                params.iter().find(|(k, _)| k == "offset").ok_or_else(|| Error::Decode(format!("next.href {href:?} has no offset")))?;
            let mut out = vec![offset.clone()];
            out.extend(params.iter().find(|(k, _)| k == "limit").cloned());
            Ok(Some(out))
        }
        PageStyle::NextStart => {
            if let Some(start) = text(body.pointer("/next/start")) {
                return Ok(Some(vec![("start".into(), start)]));
            }
            match text(body.pointer("/next/href")) {
                Some(href) => {
                    let start = url_params(&href)?
                        .into_iter()
                        .find(|(k, _)| k == "start")
                        .ok_or_else(|| Error::Decode(format!("next.href {href:?} has no start")))?;
                    Ok(Some(vec![start]))
                }
                None => Ok(None),
            }
        }
        PageStyle::NextUrl => {
            let Some(next) = text(body.get("next_url")) else { return Ok(None) };
            let token = url_params(&next)?
                .into_iter()
                .find(|(k, _)| k == "start" || k == "_start")
                .ok_or_else(|| Error::Decode(format!("next_url {next:?} has no start or _start")))?;
            Ok(Some(vec![token]))
        }
        PageStyle::OffsetTotal => {
            let Some(total) = body.get("total_count").and_then(Value::as_u64) else { return Ok(None) };
            let next = offset + items_on_page as u64;
            Ok((next < total).then(|| vec![("offset".into(), next.to_string())]))
        }
    }
}

/// Query parameters of an absolute or host-relative URL.
fn url_params(link: &str) -> Result<Vec<(String, String)>, Error> {
    let base = url::Url::parse("http://placeholder.invalid/").map_err(|e| Error::Decode(e.to_string()))?;
    let url = base.join(link).map_err(|e| Error::Decode(format!("bad page link {link:?}: {e}")))?;
    Ok(url.query_pairs().into_owned().collect())
}

/// The array under `items_key`; a missing or null key counts as an empty page.
pub(crate) fn page_items(body: &Value, items_key: &str) -> Result<Vec<Value>, Error> {
    match body.get(items_key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(other) => Err(Error::Decode(format!("{items_key} is not a list: {other}"))),
    }
}

/// Where a paged list call is: the query of the next page to fetch, and the links already
/// followed. [`Client::collect_pages`] drives it with each page it receives.
pub(crate) struct Pager<'a> {
    path: &'a str,
    items_key: &'a str,
    style: PageStyle,
    query: Vec<(String, String)>,
    offset: u64,
    seen: HashSet<Vec<(String, String)>>,
}

impl<'a> Pager<'a> {
    pub(crate) fn new(path: &'a str, base_query: &[(&str, &str)], items_key: &'a str, style: PageStyle) -> Pager<'a> {
        let query: Vec<(String, String)> = base_query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let offset = query.iter().find(|(k, _)| k == "offset").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        Pager { path, items_key, style, query, offset, seen: HashSet::new() }
    }

    /// The query that fetches the next page.
    pub(crate) fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// Adds the items of a page to `all`; true when another page follows (then [`Pager::query`]
    /// fetches it).
    pub(crate) fn take_page(&mut self, body: &Value, all: &mut Vec<Value>) -> Result<bool, Error> {
        let items = page_items(body, self.items_key)?;
        let n = items.len();
        all.extend(items);
        let Some(next) = next_page_params(self.style, body, self.offset, n)? else { return Ok(false) };
        if !self.seen.insert(next.clone()) {
            return Err(Error::Decode(format!("GET {}: the server repeated a page link ({next:?})", self.path)));
        }
        for (k, v) in next {
            if k == "offset" {
                self.offset = v.parse().unwrap_or(self.offset);
            }
            self.query.retain(|(qk, _)| *qk != k);
            self.query.push((k, v));
        }
        Ok(true)
    }
}

impl Client {
    /// GETs `path` with `base_query` and follows the pages, returning all items under `items_key`.
    pub async fn collect_pages(
        &self,
        api: Api,
        path: &str,
        base_query: &[(&str, &str)],
        items_key: &str,
        style: PageStyle,
    ) -> Result<Vec<Value>, Error> {
        let mut pager = Pager::new(path, base_query, items_key, style);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = self.request(api, Method::GET, path).query_all(pager.query()).send().await?;
            if !pager.take_page(&resp.body, &mut all)? {
                return Ok(all);
            }
        }
        Err(Error::Decode(format!("GET {path}: more than {MAX_PAGES} pages")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
    use serde_json::json;

    fn p(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn next_href_offsets() {
        let body = json!({"next":{"href":"https://iam.cloud.ibm.com/v2/groups?account_id=a&limit=2&offset=4"}});
        assert_eq!(next_page_params(PageStyle::NextHref, &body, 2, 2).unwrap(), p(&[("offset", "4"), ("limit", "2")]));
        let rel = json!({"next":{"href":"/v2/groups?offset=6"}});
        assert_eq!(next_page_params(PageStyle::NextHref, &rel, 0, 1).unwrap(), p(&[("offset", "6")]));
        assert_eq!(next_page_params(PageStyle::NextHref, &json!({"next":null}), 0, 3).unwrap(), None);
        assert_eq!(next_page_params(PageStyle::NextHref, &json!({}), 0, 3).unwrap(), None);
        assert!(next_page_params(PageStyle::NextHref, &json!({"next":{"href":"/x?limit=1"}}), 0, 1).is_err());
        assert_eq!(next_page_params(PageStyle::NextHref, &body, 0, 0).unwrap(), None);
    }

    #[test]
    fn next_start_tokens() {
        let body = json!({"next":{"href":"https://iam/v1/policies?start=abc","start":"abc"}});
        assert_eq!(next_page_params(PageStyle::NextStart, &body, 0, 5).unwrap(), p(&[("start", "abc")]));
        let href_only = json!({"next":{"href":"https://iam/v1/policies?account_id=x&start=t2"}});
        assert_eq!(next_page_params(PageStyle::NextStart, &href_only, 0, 5).unwrap(), p(&[("start", "t2")]));
        assert_eq!(next_page_params(PageStyle::NextStart, &json!({"policies":[]}), 0, 5).unwrap(), None);
    }

    #[test]
    fn next_url_tokens() {
        let rc = json!({"next_url":"/v2/resource_instances?limit=100&start=g1"});
        assert_eq!(next_page_params(PageStyle::NextUrl, &rc, 0, 5).unwrap(), p(&[("start", "g1")]));
        let um = json!({"next_url":"/v2/accounts/a/users?_start=u%2F2&limit=100"});
        assert_eq!(next_page_params(PageStyle::NextUrl, &um, 0, 5).unwrap(), p(&[("_start", "u/2")]));
        assert_eq!(next_page_params(PageStyle::NextUrl, &json!({"next_url":null}), 0, 5).unwrap(), None);
        assert_eq!(next_page_params(PageStyle::NextUrl, &json!({"next_url":""}), 0, 5).unwrap(), None);
        assert!(next_page_params(PageStyle::NextUrl, &json!({"next_url":"/x?y=1"}), 0, 5).is_err());
    }

    #[test]
    fn offset_total() {
        let body = json!({"total_count":5,"items":[]});
        assert_eq!(next_page_params(PageStyle::OffsetTotal, &body, 0, 2).unwrap(), p(&[("offset", "2")]));
        assert_eq!(next_page_params(PageStyle::OffsetTotal, &body, 2, 2).unwrap(), p(&[("offset", "4")]));
        assert_eq!(next_page_params(PageStyle::OffsetTotal, &body, 4, 1).unwrap(), None);
        assert_eq!(next_page_params(PageStyle::OffsetTotal, &body, 4, 0).unwrap(), None);
        assert_eq!(next_page_params(PageStyle::OffsetTotal, &json!({}), 0, 3).unwrap(), None);
    }

    #[tokio::test]
    async fn collects_next_url_pages() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!(q.get("resource_group_id").map(String::as_str), Some("rg"));
            match q.get("start").map(String::as_str) {
                None => Reply::json(
                    200,
                    json!({"resources":[{"id":1},{"id":2}],"next_url":"/v2/resource_instances?start=p2&resource_group_id=rg"}),
                ),
                Some("p2") => Reply::json(200, json!({"resources":[{"id":3}],"next_url":null})),
                Some(other) => panic!("unexpected start {other}"),
            }
        })
        .await;
        let client = test_client(&mock, 0);
        let items = client
            .collect_pages(
                Api::ResourceController,
                "/v2/resource_instances",
                &[("resource_group_id", "rg")],
                "resources",
                PageStyle::NextUrl,
            )
            .await
            .unwrap();
        assert_eq!(items, vec![json!({"id":1}), json!({"id":2}), json!({"id":3})]);
    }

    #[tokio::test]
    async fn collects_offset_pages_and_detects_loops() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            if req.path == "/loop" {
                return Reply::json(200, json!({"policies":[1],"next":{"start":"same"}}));
            }
            let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = (offset..(offset + 2).min(5)).map(|i| json!({"name": i})).collect();
            Reply::json(200, json!({"total_count":5,"offset":offset,"items":items}))
        })
        .await;
        let client = test_client(&mock, 0);
        let items = client.collect_pages(Api::Tagging, "/v3/tags", &[("limit", "2")], "items", PageStyle::OffsetTotal).await.unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(mock.count("GET", "/v3/tags"), 3);
        let err = client.collect_pages(Api::IamPolicy, "/loop", &[], "policies", PageStyle::NextStart).await.unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err}");
    }
}
