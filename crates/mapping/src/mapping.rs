//! `Mapping`: a compiled mapping table for one direction, its defaults, and `apply`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::canon::Canon;
use crate::error::{AttrError, CompileError, CompileErrors, quote_json};
use crate::eval::{as_text, eval, is_empty};
use crate::expr::{self, Expr};
use crate::phone;
use crate::record::{AdminRole, MappedAttr, MappedRecord, UserType};
use crate::spec::{EmptyPolicy, MappingSpec, Options, When};
use crate::target::{
    self, ADMIN_ROLES, CUSTOM_KIND, CUSTOM_PREFIX, GROUP, INBOUND, Kind, OUTBOUND,
    PINGONE_RESERVED, Target,
};

/// Which way a mapping goes, which decides its target attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A PingOne user (JSON, `population.name` resolved) → Duo user or administrator.
    Outbound,
    /// A Duo user (JSON as the Admin API returns it) → PingOne user.
    Inbound,
    /// A PingOne group (JSON) → Duo group (`name`, `desc`).
    Group,
}

impl Direction {
    /// "an outbound", "an inbound", "a group": for messages.
    fn with_article(self) -> &'static str {
        match self {
            Direction::Outbound => "an outbound",
            Direction::Inbound => "an inbound",
            Direction::Group => "a group",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
            Direction::Group => "group",
        }
    }

    fn table(self) -> &'static [Target] {
        match self {
            Direction::Outbound => OUTBOUND,
            Direction::Inbound => INBOUND,
            Direction::Group => GROUP,
        }
    }

    /// The target attributes this direction accepts (inbound also accepts `custom.<name>`).
    pub fn targets(self) -> Vec<&'static str> {
        self.table().iter().map(|t| t.name).collect()
    }
}

#[derive(Debug, Clone)]
struct Compiled {
    /// As written in the table (errors name it).
    target: String,
    /// Key in the mapped record.
    key: String,
    kind: Kind,
    required: bool,
    expr: Expr,
    empty: EmptyPolicy,
    when: When,
}

/// A mapping table compiled once: checked targets, parsed expressions, options.
#[derive(Debug, Clone)]
pub struct Mapping {
    direction: Direction,
    attrs: Vec<Compiled>,
    options: Options,
    spec: MappingSpec,
}

impl Mapping {
    /// Compile `spec` for `direction` with the default [`Options`].
    pub fn compile(direction: Direction, spec: &MappingSpec) -> Result<Self, CompileErrors> {
        Self::compile_with(direction, spec, &Options::default())
    }

    /// Compile `spec` for `direction`; every problem is reported, each naming its target
    /// and, inside an expression, the column.
    pub fn compile_with(
        direction: Direction,
        spec: &MappingSpec,
        options: &Options,
    ) -> Result<Self, CompileErrors> {
        let mut errors = Vec::new();
        let plain = |target: &str, message: String| CompileError {
            target: target.to_owned(),
            expr: None,
            column: None,
            message,
        };
        if phone::region(&options.default_region).is_none() {
            errors.push(plain(
                "(options)",
                format!(
                    "default_region {} is not a known phone region: use a two-letter ISO 3166 code such as \"US\"",
                    crate::error::quote(&options.default_region)
                ),
            ));
        }
        let mut attrs = Vec::new();
        for (name, attr) in &spec.0 {
            let Some((key, kind, required)) = resolve_target(direction, name, &mut errors) else {
                continue;
            };
            let text = attr.expr();
            match expr::parse(text) {
                Ok(expr) => {
                    // A constant that can never be valid fails every user:
                    // refuse it now rather than at every sync.
                    if direction == Direction::Outbound
                        && let expr::Expr::Lit(value) = &expr
                    {
                        let v = Value::String(value.clone());
                        let mut bad = Vec::new();
                        match name.as_str() {
                            "userType" => {
                                let _ = read_user_type(&v, &mut bad);
                            }
                            "adminRole" => {
                                let _ = read_role(Some(&v), options.allow_owner, &mut bad);
                            }
                            _ => {}
                        }
                        if let Some(e) = bad.first() {
                            errors.push(CompileError {
                                target: name.clone(),
                                expr: Some(text.to_owned()),
                                column: None,
                                message: format!(
                                    "the constant {} can never be valid: {}",
                                    e.value.as_deref().unwrap_or("\"\""),
                                    e.rule
                                ),
                            });
                            continue;
                        }
                    }
                    let (empty, when) = attr.policies();
                    attrs.push(Compiled {
                        target: name.clone(),
                        key,
                        kind,
                        required,
                        expr,
                        empty,
                        when,
                    });
                }
                Err(e) => errors.push(CompileError {
                    target: name.clone(),
                    expr: Some(text.to_owned()),
                    column: Some(e.column),
                    message: e.message,
                }),
            }
        }
        let mapped = |n: &str| spec.0.contains_key(n);
        for t in direction.table().iter().filter(|t| t.required) {
            if !mapped(t.name) {
                errors.push(plain(
                    t.name,
                    format!(
                        "is required in {} mapping: add for example {} = \"{}\"",
                        direction.with_article(),
                        t.name,
                        t.name
                    ),
                ));
            }
        }
        if direction == Direction::Outbound {
            if mapped("enabled") && mapped("status") {
                errors.push(plain(
                    "status",
                    "map either `enabled` or `status`, not both: both set Duo's status".to_owned(),
                ));
            }
            if mapped("adminRole") && !mapped("userType") {
                errors.push(plain(
                    "adminRole",
                    "applies only to administrators: map `userType` too (\"user\" or \"admin\")"
                        .to_owned(),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(CompileErrors(errors));
        }
        Ok(Self {
            direction,
            attrs,
            options: options.clone(),
            spec: spec.clone(),
        })
    }

    /// The seed's outbound table: `username ← username`, `email ← email`,
    /// `phones ← primaryPhone`, `enabled ← enabled`, `realname ← name.given`.
    pub fn default_outbound() -> Self {
        Self::default_for(Direction::Outbound)
    }

    /// The inverse of the outbound default: `username`, `email`,
    /// `name.given ← coalesce(firstname, realname)`, `name.family ← lastname`,
    /// `primaryPhone ← phones.0.number`, `enabled ← status`.
    pub fn default_inbound() -> Self {
        Self::default_for(Direction::Inbound)
    }

    /// Duo group `name ← name`, `desc ← description` of the PingOne group.
    pub fn default_group() -> Self {
        Self::default_for(Direction::Group)
    }

    fn default_for(direction: Direction) -> Self {
        // The default tables are constants checked by tests; failing here is a bug in them.
        Self::compile(direction, &Self::default_spec(direction)).unwrap_or_else(|e| {
            panic!(
                "built-in {} mapping does not compile: {e}",
                direction.label()
            )
        })
    }

    /// The default table of `direction` in its raw form (to show, or to extend).
    pub fn default_spec(direction: Direction) -> MappingSpec {
        MappingSpec::from_pairs(
            match direction {
                Direction::Outbound => &[
                    ("username", "username"),
                    ("email", "email"),
                    ("phones", "primaryPhone"),
                    ("enabled", "enabled"),
                    ("realname", "name.given"),
                ][..],
                Direction::Inbound => &[
                    ("username", "username"),
                    ("email", "email"),
                    ("name.given", "coalesce(firstname, realname)"),
                    ("name.family", "lastname"),
                    ("primaryPhone", "phones.0.number"),
                    ("enabled", "status"),
                ][..],
                Direction::Group => &[("name", "name"), ("desc", "description")][..],
            }
            .iter()
            .copied(),
        )
    }

    /// The direction this mapping was compiled for.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The raw table this mapping was compiled from.
    pub fn spec(&self) -> &MappingSpec {
        &self.spec
    }

    /// A stable 64-bit fingerprint of the mapping itself (direction, table with its policies,
    /// options). Record fingerprints cover values only, so store this beside them: when it
    /// changes, every record must be compared again.
    pub fn fingerprint(&self) -> u64 {
        let mut c = Canon::new(b"p1duo-mapping-table-v1\0");
        c.str(self.direction.label());
        c.str(&self.options.default_region);
        c.byte(u8::from(self.options.allow_owner));
        c.len(self.spec.0.len());
        for (target, attr) in &self.spec.0 {
            let (empty, when) = attr.policies();
            c.str(target);
            c.str(attr.expr());
            c.byte(u8::from(empty == EmptyPolicy::Clear));
            c.byte(u8::from(when == When::OnCreate));
        }
        c.finish()
    }

    /// Every source path the expressions read (`name.given`, `population.name`, …), so the
    /// caller can fetch or resolve only what is needed.
    pub fn source_paths(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for a in &self.attrs {
            a.expr.paths(&mut out);
        }
        out
    }

    /// The options this mapping was compiled with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Map one source record. Never panics; every attribute is evaluated, and every failure is
    /// returned (in target order), each naming the attribute, the value and the rule.
    pub fn apply(&self, source: &Value) -> Result<MappedRecord, Vec<AttrError>> {
        let region = self.options.default_region.as_str();
        let mut errors = Vec::new();
        let mut attrs = BTreeMap::new();
        let mut user_type_value = None;
        let mut role_value = None;
        for a in &self.attrs {
            let v = match eval(&a.expr, source, region) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(AttrError::new(&a.target, e.value, e.rule));
                    continue;
                }
            };
            match a.kind {
                Kind::UserType => user_type_value = Some(v.into_owned()),
                Kind::AdminRole => role_value = Some(v.into_owned()),
                kind => match target::convert(&a.target, kind, &v, region) {
                    Ok(None) if a.required => errors.push(AttrError::new(
                        &a.target,
                        Some(quote_json(&v)),
                        "is required and must not be empty",
                    )),
                    Ok(value) => {
                        attrs.insert(
                            a.key.clone(),
                            MappedAttr {
                                value,
                                empty: a.empty,
                                when: a.when,
                            },
                        );
                    }
                    Err(e) => errors.push(e),
                },
            }
        }
        let (mut user_type, mut admin_role) = (None, None);
        if self.direction == Direction::Outbound {
            let ut = match &user_type_value {
                None => Some(UserType::User),
                Some(v) => read_user_type(v, &mut errors),
            };
            if ut == Some(UserType::Admin) {
                admin_role = read_role(role_value.as_ref(), self.options.allow_owner, &mut errors);
                let has_email = attrs.get("email").is_some_and(|a| a.value.is_some());
                if !has_email && !errors.iter().any(|e| e.attribute == "email") {
                    errors.push(AttrError::new(
                        "email",
                        None,
                        "is required for a Duo administrator: map `email`, or give this user userType \"user\"",
                    ));
                }
            }
            user_type = ut;
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MappedRecord {
            attrs,
            user_type,
            admin_role,
        })
    }
}

/// Resolve a table key to (record key, kind, required), or record a compile error.
fn resolve_target(
    direction: Direction,
    name: &str,
    errors: &mut Vec<CompileError>,
) -> Option<(String, Kind, bool)> {
    if let Some(t) = direction.table().iter().find(|t| t.name == name) {
        return Some((t.key.to_owned(), t.kind, t.required));
    }
    let err = |message: String| CompileError {
        target: name.to_owned(),
        expr: None,
        column: None,
        message,
    };
    if direction == Direction::Inbound
        && let Some(custom) = name.strip_prefix(CUSTOM_PREFIX)
    {
        let valid = !custom.is_empty()
            && custom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            errors.push(err(
                "is not a valid custom attribute name: after `custom.` use letters, digits, `_` or `-`"
                    .to_owned(),
            ));
            return None;
        }
        if PINGONE_RESERVED.contains(&custom) {
            errors.push(err(format!(
                "`{custom}` is a standard PingOne attribute, not a custom one: map it by its own name if it is a target, or pick another name"
            )));
            return None;
        }
        return Some((custom.to_owned(), CUSTOM_KIND, false));
    }
    let mut valid = direction.targets().join(", ");
    if direction == Direction::Inbound {
        valid.push_str(", custom.<name> (a PingOne custom attribute)");
    }
    errors.push(err(format!(
        "is not {} target attribute; the valid ones are: {valid}",
        direction.with_article()
    )));
    None
}

fn read_user_type(v: &Value, errors: &mut Vec<AttrError>) -> Option<UserType> {
    match v {
        Value::String(s) if s == "user" => Some(UserType::User),
        Value::String(s) if s == "admin" => Some(UserType::Admin),
        _ => {
            let hint = if is_empty(v) {
                "; to default it write coalesce(<attribute>, \"user\")"
            } else {
                ""
            };
            errors.push(AttrError::new(
                "userType",
                Some(quote_json(v)),
                format!(
                    "must be exactly \"user\" or \"admin\"; any other value fails this user's sync{hint}"
                ),
            ));
            None
        }
    }
}

fn read_role(
    v: Option<&Value>,
    allow_owner: bool,
    errors: &mut Vec<AttrError>,
) -> Option<AdminRole> {
    let Some(v) = v.filter(|v| !is_empty(v)) else {
        return Some(AdminRole::default());
    };
    let text = match as_text(v, "this attribute") {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            errors.push(AttrError::new("adminRole", e.value, e.rule));
            return None;
        }
    };
    let role = text.trim();
    if role == "Owner" && !allow_owner {
        errors.push(AttrError::new(
            "adminRole",
            Some(quote_json(v)),
            "Owner is refused unless the mapping option allow_owner is true: an Owner can do everything in Duo",
        ));
        return None;
    }
    if ADMIN_ROLES.contains(&role) {
        return Some(AdminRole(role.to_owned()));
    }
    let listed: Vec<String> = ADMIN_ROLES.iter().map(|r| format!("\"{r}\"")).collect();
    errors.push(AttrError::new(
        "adminRole",
        Some(quote_json(v)),
        format!(
            "must be one of Duo's roles (case-sensitive): {}",
            listed.join(", ")
        ),
    ));
    None
}
