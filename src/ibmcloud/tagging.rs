//! Global Tagging: user tags on resources, addressed by CRN (`/v3/tags`). Attach and detach
//! answer 200 even when an item failed: every `results[].is_error` is checked.

use serde_json::{json, Value};

use super::{Api, ApiError, Client, Error, Method, PageStyle};

/// The per-item failures of an attach or detach answer, as an error.
pub(crate) fn item_errors(doing: &str, body: &Value) -> Result<(), Error> {
    let failed: Vec<String> = body
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("is_error").and_then(Value::as_bool).unwrap_or(false))
        .map(|r| {
            let id = r.get("resource_id").and_then(Value::as_str).unwrap_or("?");
            let message = r.get("message").and_then(Value::as_str).unwrap_or("no reason given");
            format!("{id}: {message}")
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Api(ApiError {
        status: 200,
        code: Some("is_error".into()),
        message: format!("{doing} failed for {}", failed.join("; ")),
        trace: None,
        details: None,
        body: body.clone(),
    }))
}

impl Client {
    /// The user tags attached to `crn`, as IBM stores them (lowercase).
    pub async fn list_attached_tags(&self, crn: &str) -> Result<Vec<String>, Error> {
        let items = self
            .collect_pages(
                Api::Tagging,
                "/v3/tags",
                &[("tag_type", "user"), ("attached_to", crn), ("limit", "1000")],
                "items",
                PageStyle::OffsetTotal,
            )
            .await?;
        Ok(items.iter().filter_map(|i| i.get("name").and_then(Value::as_str)).map(str::to_owned).collect())
    }

    /// Attaches user tags to one resource. Sent lowercase, as IBM stores them.
    pub async fn attach_tags(&self, crn: &str, tags: &[String]) -> Result<(), Error> {
        self.tag_call("/v3/tags/attach", "attaching tags", crn, tags).await
    }

    /// Detaches user tags from one resource. The tags themselves are left to IBM, which deletes
    /// a user tag once nothing carries it.
    pub async fn detach_tags(&self, crn: &str, tags: &[String]) -> Result<(), Error> {
        self.tag_call("/v3/tags/detach", "detaching tags", crn, tags).await
    }

    async fn tag_call(&self, path: &str, doing: &str, crn: &str, tags: &[String]) -> Result<(), Error> {
        if tags.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
        // At most 100 tags per call.
        for chunk in names.chunks(100) {
            let body = json!({"tag_names": chunk, "resources": [{"resource_id": crn}]});
            let resp = self.request(Api::Tagging, Method::POST, path).query("tag_type", "user").json(&body).send().await?;
            item_errors(doing, &resp.body)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{test_client, Mock, Reply};

    #[tokio::test]
    async fn item_errors_fail_the_call_and_tags_go_lowercase() {
        let mock = Mock::start(|req, _| {
            let body: Value = serde_json::from_str(&req.body).unwrap();
            assert_eq!(body["tag_names"], json!(["env:dev"]));
            Reply::json(200, json!({"results":[{"resource_id":"crn:x","is_error":true,"message":"resource not found"}]}))
        })
        .await;
        let err = test_client(&mock, 0).attach_tags("crn:x", &["Env:Dev".to_string()]).await.unwrap_err();
        assert!(err.to_string().contains("crn:x: resource not found"), "{err}");
    }
}
