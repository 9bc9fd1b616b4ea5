//! Groups: the permissions and page rules users get by joining them.

use errata_catalog::Error;
use errata_errors::security;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::page_rules::PageRule;
use crate::permissions::Permissions;
use crate::users::db;
use crate::{ADMINISTRATORS, GUESTS, Identity, Principal, now};

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Permissions.
    pub permissions: Permissions,
    /// Page rules.
    pub page_rules: Vec<PageRule>,
    /// Administrators and Guests, which cannot be deleted.
    pub is_system: bool,
    /// Members.
    pub user_count: i64,
    /// Created (seconds).
    pub created_at: i64,
    /// Last changed (seconds).
    pub updated_at: i64,
}

fn group_from_row(row: &AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        permissions: Permissions::from_stored(&row.try_get::<String, _>("permissions")?),
        page_rules: serde_json::from_str(&row.try_get::<String, _>("page_rules")?)
            .unwrap_or_default(),
        is_system: errata_store::flag(row, "is_system")?,
        user_count: row.try_get("user_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.permissions, g.page_rules, g.is_system, g.created_at, g.updated_at, \
     (SELECT COUNT(*) FROM user_groups ug WHERE ug.group_id = g.id) AS user_count FROM groups g";

fn check_group_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(crate::users::is_deceptive)
    {
        return Err(errata_errors::auth::input_invalid()
            .with_detail("field", "name")
            .with_detail("reason", "must have 1 to 255 printable characters"));
    }
    Ok(name.to_owned())
}

/// Page rules one group may have: each member's every page check weighs
/// them all.
pub const MAX_PAGE_RULES: usize = 100;

impl Group {
    /// Every permission the group has a say in: its own and its rules'.
    pub fn reach(&self) -> Permissions {
        crate::page_rules::reach(self.permissions, &self.page_rules)
    }
}

impl Identity {
    /// `Ok` when `by` may change `group`, or a member's place in it: the
    /// Administrators and Guests need `manage:system`, and so does a group
    /// reaching further than `by` holds everywhere.
    pub(crate) fn check_group_reach(&self, by: &Principal, group: &Group) -> Result<(), Error> {
        let target = format!("the group \"{}\"", group.name);
        if group.id == ADMINISTRATORS || group.id == GUESTS {
            by.check_system(&target)?;
        }
        by.check_outranks(&target, group.reach())
    }

    /// One group; `security.group_not_found` when there is none.
    pub async fn group(&self, id: i64) -> Result<Group, Error> {
        let row = sqlx::query(&format!("{GROUP_SELECT} WHERE g.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(security::group_not_found)?;
        group_from_row(&row).map_err(db)
    }

    /// Every group, by id.
    pub async fn groups(&self) -> Result<Vec<Group>, Error> {
        sqlx::query(&format!("{GROUP_SELECT} ORDER BY g.id"))
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(|r| group_from_row(r).map_err(db))
            .collect()
    }

    /// Creates a group with no permission.
    pub async fn create_group(&self, name: &str) -> Result<Group, Error> {
        let name = check_group_name(name)?;
        let now = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO groups (name, permissions, page_rules, is_system, created_at, updated_at) VALUES ($1, '[]', '[]', 0, $2, $3) RETURNING id",
        )
        .bind(&name)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => security::group_name_taken(name.clone()),
            _ => db(e),
        })?;
        self.changed().await?;
        self.group(id).await
    }

    /// Renames a group and sets its permissions and page rules. The
    /// Administrators' permissions cannot change, so that someone can
    /// always administer the wiki.
    pub async fn update_group(
        &self,
        by: &Principal,
        id: i64,
        name: Option<&str>,
        permissions: Option<&[String]>,
        page_rules: Option<Vec<PageRule>>,
    ) -> Result<Group, Error> {
        let group = self.group(id).await?;
        let name = name.map(check_group_name).transpose()?;
        let permissions = permissions.map(Permissions::parse).transpose()?;
        // Rules are stored as checked: each permission named once, in a
        // stable order, and no more of them than `MAX_PAGE_RULES`.
        let page_rules = match page_rules {
            Some(rules) if rules.len() > MAX_PAGE_RULES => {
                return Err(security::page_rule_invalid(
                    MAX_PAGE_RULES,
                    format!("a group has at most {MAX_PAGE_RULES} page rules"),
                ));
            }
            Some(rules) => Some(
                rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| rule.check(i).map(|checked| checked.to_rule()))
                    .collect::<Result<Vec<PageRule>, Error>>()?,
            ),
            None => None,
        };
        if let Some(permissions) = permissions {
            by.check_grant(permissions)?;
        }
        if let Some(rules) = &page_rules {
            by.check_grant(crate::page_rules::reach(Permissions::NONE, rules))?;
        }
        self.check_group_reach(by, &group)?;
        if id == ADMINISTRATORS
            && (permissions.is_some_and(|p| p != group.permissions) || page_rules.is_some())
        {
            return Err(security::group_protected(group.name));
        }
        sqlx::query(
            "UPDATE groups SET name = COALESCE($1, name), permissions = COALESCE($2, permissions), \
             page_rules = COALESCE($3, page_rules), updated_at = $4 WHERE id = $5",
        )
        .bind(&name)
        .bind(permissions.map(Permissions::to_stored))
        .bind(page_rules.map(|r| serde_json::to_string(&r).unwrap_or_default()))
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                security::group_name_taken(name.clone().unwrap_or_default())
            }
            _ => db(e),
        })?;
        self.changed().await?;
        self.group(id).await
    }

    /// Deletes a group; its members leave it.
    pub async fn delete_group(&self, by: &Principal, id: i64) -> Result<(), Error> {
        let group = self.group(id).await?;
        // Users is where registration puts new accounts: without it, no
        // one could register.
        if group.is_system || id == ADMINISTRATORS || id == GUESTS || id == crate::USERS {
            return Err(security::group_protected(group.name));
        }
        self.check_group_reach(by, &group)?;
        sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        self.changed().await
    }

    /// Adds a user to a group.
    pub async fn assign_user(&self, by: &Principal, group: i64, user: i64) -> Result<(), Error> {
        self.membership(
            by,
            group,
            user,
            "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .await
    }

    /// Removes a user from a group.
    pub async fn unassign_user(&self, by: &Principal, group: i64, user: i64) -> Result<(), Error> {
        self.membership(
            by,
            group,
            user,
            "DELETE FROM user_groups WHERE user_id = $1 AND group_id = $2",
        )
        .await
    }

    /// Runs `sql`, bound to `(user, group)`, once both exist and are
    /// within `by`'s reach.
    async fn membership(
        &self,
        by: &Principal,
        group: i64,
        user: i64,
        sql: &'static str,
    ) -> Result<(), Error> {
        let group = self.group(group).await?;
        self.user(user).await?;
        self.check_group_reach(by, &group)?;
        self.check_user_reach(by, user).await?;
        let group = group.id;
        sqlx::query(sql)
            .bind(user)
            .bind(group)
            .execute(self.pool())
            .await
            .map_err(db)?;
        self.changed().await
    }
}
