//! Paging against duo-sim at 0, 1, 299, 300, 301 and 1,000 users: every user
//! exactly once, pages of 300, following `next_offset`.

use std::collections::BTreeSet;

use duo_sim::SimConfig;
use futures::TryStreamExt as _;

use crate::sim::start_with;

#[tokio::test]
async fn users_are_listed_completely_at_page_boundaries() {
    for n in [0usize, 1, 299, 300, 301, 1000] {
        let (sim, duo) = start_with(SimConfig::default()).await;
        let ids: BTreeSet<String> = sim.insert_users("pager", n).unwrap().into_iter().collect();
        sim.reset_stats();

        let users = duo.list_users().await.unwrap();
        assert_eq!(users.len(), n, "{n} users");
        let listed: BTreeSet<String> = users.iter().map(|u| u.user_id.clone()).collect();
        assert_eq!(listed, ids, "every user exactly once at n = {n}");

        let expected_pages = n.div_ceil(300).max(1) as u64;
        assert_eq!(
            sim.stats().route("GET /admin/v1/users"),
            expected_pages,
            "requests at n = {n}"
        );

        let pages: Vec<_> = duo.user_pages().try_collect().await.unwrap();
        let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
        let mut want: Vec<usize> = (0..n / 300).map(|_| 300).collect();
        if n % 300 != 0 || n == 0 {
            want.push(n % 300);
        }
        assert_eq!(sizes, want, "page sizes at n = {n}");
        assert!(pages.iter().all(|p| p.total_objects == Some(n as u64)));
        assert_eq!(pages.last().unwrap().next_offset, None);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn members_and_groups_use_pages_of_500() {
    let (sim, duo) = start_with(SimConfig::default()).await;
    let group = sim.insert_group("big", &[]).unwrap();
    let ids = sim.insert_users("member", 501).unwrap();
    for id in &ids {
        sim.add_member(id, &group.group_id).unwrap();
    }
    sim.reset_stats();
    let members = duo.group_members(&group.group_id).await.unwrap();
    assert_eq!(members.len(), 501);
    assert_eq!(
        sim.stats().route("GET /admin/v2/groups/{group_id}/users"),
        2
    );
    sim.shutdown().await;
}
