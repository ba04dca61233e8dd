//! HAL paging: a stream of pages that follows `_links.next.href` verbatim until it is absent.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::client::{PingOneClient, Replay, Request, decode};
use crate::error::{Error, Result};
use crate::model::{HalCollection, Page};

/// A stream of pages; each item is one page or the error that ended the listing.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>>>;

impl PingOneClient {
    /// Pages of `_embedded.{key}` starting at `first`, following `next` links.
    pub(crate) fn pages<T>(
        &self,
        first: Result<Url>,
        key: &'static str,
        object: String,
    ) -> PageStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let start = match first {
            Ok(url) => Some(Ok(url)),
            Err(e) => Some(Err(e)),
        };
        stream::try_unfold(start, move |next| {
            let client = client.clone();
            let object = object.clone();
            async move {
                let url = match next {
                    None => return Ok(None),
                    Some(u) => u?,
                };
                let resp = client
                    .send(Request {
                        method: Method::GET,
                        url,
                        body: None,
                        object: object.clone(),
                        replay: Replay::Safe,
                    })
                    .await?;
                let hal: HalCollection<T> = decode(&object, &resp.body)?;
                let next_href = hal.next_href();
                let next = next_href.as_deref().map(|h| client.checked_link(h));
                if let Some(k) = &hal.embedded.key
                    && k != key
                {
                    return Err(Error::Decode {
                        object: object.clone(),
                        message: format!("expected `_embedded.{key}`, found `_embedded.{k}`"),
                    });
                }
                let items = hal.embedded.items;
                let page = Page {
                    items,
                    size: hal.size.map(|n| n as u64),
                    count: hal.count.map(|n| n as u64),
                    next: next_href,
                };
                Ok(Some((page, next)))
            }
        })
        .boxed()
    }
}

/// Collects every item of every page.
pub async fn collect_all<T>(pages: PageStream<T>) -> Result<Vec<T>> {
    pages
        .map_ok(|p| stream::iter(p.items.into_iter().map(Ok)))
        .try_flatten()
        .try_collect()
        .await
}
