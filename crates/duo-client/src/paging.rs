//! Offset paging: `limit`/`offset` at each endpoint's largest page size,
//! following `metadata.next_offset` until Duo stops sending it.

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::types::Page;

/// Largest page of `GET /admin/v1/users`.
pub const USERS_PAGE: u32 = 300;
/// Largest page of groups, phones, a user's groups/phones and v2 group members.
pub const LARGE_PAGE: u32 = 500;
/// Page of `GET /admin/v1/admins` (Duo documents no maximum; 100 is the
/// client default every official client uses).
pub const ADMINS_PAGE: u32 = 100;

impl DuoClient {
    /// Fetches one page.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &Params,
        limit: u32,
        offset: u64,
    ) -> Result<Page<T>, DuoError> {
        let mut params = filters.clone();
        params.push("limit", limit.to_string());
        params.push("offset", offset.to_string());
        let (items, meta) = self
            .call_typed::<Vec<T>>(
                Method::GET,
                path,
                &params,
                EndpointClass::Page,
                Idempotency::Idempotent,
            )
            .await?;
        let next_offset = meta.next_offset();
        if let Some(next) = next_offset
            && next <= offset
        {
            return Err(DuoError::Decode {
                call: format!("GET {path}"),
                detail: format!("metadata.next_offset {next} does not move past offset {offset}"),
            });
        }
        Ok(Page {
            items,
            total_objects: meta.total_objects,
            offset,
            next_offset,
        })
    }

    /// Streams every page of a listing, one request per page, in order.
    pub(crate) fn page_stream<T: DeserializeOwned + Send + 'static>(
        &self,
        path: String,
        filters: Params,
        limit: u32,
    ) -> BoxStream<'static, Result<Page<T>, DuoError>> {
        let client = self.clone();
        stream::try_unfold(Some(0u64), move |next| {
            let client = client.clone();
            let path = path.clone();
            let filters = filters.clone();
            async move {
                let Some(offset) = next else { return Ok(None) };
                let page = client.page::<T>(&path, &filters, limit, offset).await?;
                let following = page.next_offset;
                Ok(Some((page, following)))
            }
        })
        .boxed()
    }

    /// Collects every item of a listing.
    pub(crate) async fn collect_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: String,
        filters: Params,
        limit: u32,
    ) -> Result<Vec<T>, DuoError> {
        let mut all = Vec::new();
        let mut pages = self.page_stream::<T>(path, filters, limit);
        while let Some(page) = pages.try_next().await? {
            if all.is_empty()
                && let Some(total) = page.total_objects
            {
                all.reserve(usize::try_from(total).unwrap_or(0).min(1_000_000));
            }
            all.extend(page.items);
        }
        Ok(all)
    }
}
