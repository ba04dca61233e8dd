//! Links: (rule, kind, source id) ↔ target id, with the last applied values.

use rusqlite::{CachedStatement, OptionalExtension, Row, Transaction, params};

use crate::error::Result;
use crate::records::{Link, LinkHead, ObjectKey, ObjectKind, Origin};
use crate::secrets;
use crate::store::{Store, fp_from_sql, fp_to_sql, json_into, json_ref, text_col};

const COLUMNS: &str =
    "kind, source_id, target_id, attrs, fingerprint, origin, first_synced, last_synced";

impl Store {
    /// Inserts or replaces links in one transaction. An existing link keeps
    /// its `first_synced`; everything else is replaced.
    pub fn upsert_links(&mut self, links: &[Link]) -> Result<()> {
        let tx = self.write_tx("upsert_links")?;
        upsert(&tx, links)?;
        Ok(tx.commit()?)
    }

    /// Forgets links in one transaction; returns how many existed.
    pub fn delete_links(&mut self, keys: &[ObjectKey]) -> Result<u64> {
        let tx = self.write_tx("delete_links")?;
        let n = delete(&tx, keys)?;
        tx.commit()?;
        Ok(n)
    }

    /// Every link of a rule, in one query, ordered by kind and source id.
    pub fn links_for_rule(&self, rule: &str) -> Result<Vec<Link>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE rule = ?1 ORDER BY kind, source_id"
        ))?;
        let mut rows = stmt.query([rule])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode(rule, row)?);
        }
        Ok(out)
    }

    /// Every link of a rule without its attribute values, in one query,
    /// ordered by kind and source id: what a sync plans with.
    pub fn link_heads(&self, rule: &str) -> Result<Vec<LinkHead>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, source_id, target_id, fingerprint, origin FROM links
             WHERE rule = ?1 ORDER BY kind, source_id",
        )?;
        let mut rows = stmt.query([rule])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(LinkHead {
                kind: text_col(row, 0, ObjectKind::parse)?,
                source_id: row.get(1)?,
                target_id: row.get(2)?,
                fingerprint: fp_from_sql(row.get(3)?),
                origin: text_col(row, 4, Origin::parse)?,
            });
        }
        Ok(out)
    }

    /// One link, by key.
    pub fn get_link(&self, key: &ObjectKey) -> Result<Option<Link>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE rule = ?1 AND kind = ?2 AND source_id = ?3"
        ))?;
        let mut rows = stmt.query(params![key.rule, key.kind.as_str(), key.source_id])?;
        rows.next()?.map(|row| decode(&key.rule, row)).transpose()
    }

    /// The links that point at a target object (several for a shared Duo phone).
    pub fn links_to_target(
        &self,
        rule: &str,
        kind: ObjectKind,
        target_id: &str,
    ) -> Result<Vec<Link>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE rule = ?1 AND kind = ?2 AND target_id = ?3
             ORDER BY source_id"
        ))?;
        let mut rows = stmt.query(params![rule, kind.as_str(), target_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode(rule, row)?);
        }
        Ok(out)
    }

    /// The rules that have links (for `status` across rules).
    pub fn link_rules(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT rule FROM links ORDER BY rule")?;
        let rules = stmt
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rules)
    }

    /// How many links a rule has, without loading them.
    pub fn count_links(&self, rule: &str) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM links WHERE rule = ?1")?
            .query_row([rule], |row| row.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

pub(crate) fn upsert(tx: &Transaction<'_>, links: &[Link]) -> Result<()> {
    let mut stmt = upsert_stmt(tx)?;
    let mut buf = Vec::new();
    let mut prev = None;
    for link in links {
        secrets::check("link attributes", || link.key().to_string(), &link.attrs)?;
        buf.clear();
        upsert_one(&mut stmt, link, json_into(&mut buf, &link.attrs), prev)?;
        prev = Some(link);
    }
    Ok(())
}

/// The prepared upsert, for callers that interleave other work per row.
pub(crate) fn upsert_stmt<'t>(tx: &'t Transaction<'_>) -> Result<CachedStatement<'t>> {
    Ok(tx.prepare_cached(
        "INSERT INTO links (rule, kind, source_id, target_id, attrs, fingerprint, origin,
                            first_synced, last_synced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (rule, kind, source_id) DO UPDATE SET
            target_id = excluded.target_id, attrs = excluded.attrs,
            fingerprint = excluded.fingerprint, origin = excluded.origin,
            last_synced = excluded.last_synced",
    )?)
}

/// Upserts one link whose attributes, checked for secrets, are `attrs` as JSON.
/// `prev` is the link the statement ran with last in this batch: parameters
/// it shares are not bound again (SQLite keeps bindings between runs, and
/// each text bind is a copy).
pub(crate) fn upsert_one(
    stmt: &mut CachedStatement<'_>,
    link: &Link,
    attrs: &str,
    prev: Option<&Link>,
) -> Result<()> {
    let same = |f: &dyn Fn(&Link) -> bool| prev.is_some_and(f);
    if !same(&|p| p.rule == link.rule) {
        stmt.raw_bind_parameter(1, &link.rule)?;
    }
    if !same(&|p| p.kind == link.kind) {
        stmt.raw_bind_parameter(2, link.kind.as_str())?;
    }
    stmt.raw_bind_parameter(3, &link.source_id)?;
    stmt.raw_bind_parameter(4, &link.target_id)?;
    stmt.raw_bind_parameter(5, attrs)?;
    stmt.raw_bind_parameter(6, fp_to_sql(link.fingerprint))?;
    if !same(&|p| p.origin == link.origin) {
        stmt.raw_bind_parameter(7, link.origin.as_str())?;
    }
    if !same(&|p| p.first_synced == link.first_synced) {
        stmt.raw_bind_parameter(8, link.first_synced)?;
    }
    if !same(&|p| p.last_synced == link.last_synced) {
        stmt.raw_bind_parameter(9, link.last_synced)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

pub(crate) fn delete(tx: &Transaction<'_>, keys: &[ObjectKey]) -> Result<u64> {
    let mut stmt =
        tx.prepare_cached("DELETE FROM links WHERE rule = ?1 AND kind = ?2 AND source_id = ?3")?;
    let mut n = 0;
    for key in keys {
        n += stmt.execute(params![key.rule, key.kind.as_str(), key.source_id])? as u64;
    }
    Ok(n)
}

fn decode(rule: &str, row: &Row<'_>) -> Result<Link> {
    Ok(Link {
        rule: rule.to_owned(),
        kind: text_col(row, 0, ObjectKind::parse)?,
        source_id: row.get(1)?,
        target_id: row.get(2)?,
        attrs: json_ref(row, 3, "links", "attrs")?,
        fingerprint: fp_from_sql(row.get(4)?),
        origin: text_col(row, 5, Origin::parse)?,
        first_synced: row.get(6)?,
        last_synced: row.get(7)?,
    })
}
