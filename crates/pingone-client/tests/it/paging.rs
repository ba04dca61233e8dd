//! Paging: the 200 users cap, `size`/`count`, next links followed verbatim to the end,
//! filters across page boundaries.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use pingone_client::{Filter, UserQuery, collect_all};
use pingone_sim::SimConfig;

use crate::start;

#[tokio::test]
async fn listing_follows_next_links_across_the_200_cap() {
    let cfg = SimConfig {
        seed_users: 450,
        ..SimConfig::default()
    };
    let (sim, client) = start(cfg).await;
    let query = UserQuery {
        limit: Some(1000),
        ..UserQuery::default()
    };
    let mut pages = client.list_users(&query);
    let mut sizes = Vec::new();
    let mut ids = BTreeSet::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        assert_eq!(page.size, Some(page.items.len() as u64));
        if let Some(next) = &page.next {
            assert!(next.starts_with(&sim.api_url()), "{next}");
        }
        sizes.push(page.items.len());
        ids.extend(page.items.into_iter().map(|u| u.id));
    }
    assert_eq!(sizes, [200, 200, 50]);
    let want: BTreeSet<String> = sim.state().users.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn small_pages_and_filters_cross_boundaries_without_loss() {
    let cfg = SimConfig {
        seed_users: 120,
        ..SimConfig::default()
    };
    let (sim, client) = start(cfg).await;
    let query = UserQuery {
        filter: Some(Filter::sw("username", "user00001").unwrap()),
        limit: Some(3),
        ..UserQuery::default()
    };
    let pages: Vec<_> = client.list_users(&query).try_collect().await.unwrap();
    assert_eq!(pages.len(), 4, "10 matches at 3 a page");
    assert!(pages.last().unwrap().next.is_none());
    let got: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .map(|u| u.username)
        .collect();
    let want: Vec<String> = sim
        .state()
        .users
        .into_iter()
        .map(|u| u.username)
        .filter(|n| n.starts_with("user00001"))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn an_empty_result_is_one_empty_page() {
    let (_sim, client) = start(SimConfig::default()).await;
    let pages: Vec<_> = client
        .list_users(&UserQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].items.is_empty());
    assert_eq!(pages[0].count, Some(0));
    assert!(
        collect_all(client.list_users(&UserQuery::all()))
            .await
            .unwrap()
            .is_empty()
    );
}
