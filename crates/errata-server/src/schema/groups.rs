//! `groups { ... }`: groups, their permissions and page rules.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use errata_errors::security;
use errata_identity::{PageRule, Permission};

use super::auth::DefaultResponse;
use super::context::{Needs, ResponseStatus, caller, identity, requires, settle, timestamp};

/// A group.
#[derive(Debug, Clone)]
pub struct Group(pub errata_identity::groups::Group);

#[Object]
impl Group {
    /// Id.
    async fn id(&self) -> i64 {
        self.0.id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Permissions, such as `write:pages`.
    async fn permissions(&self) -> Vec<String> {
        self.0.permissions.names()
    }
    /// Page rules; at check time the most specific matching one decides.
    async fn page_rules(&self) -> Vec<PageRuleOutput> {
        self.0
            .page_rules
            .iter()
            .map(|r| PageRuleOutput {
                id: r.id.clone(),
                permissions: r.permissions.clone(),
                roles: r.permissions.clone(),
                matching: r.matching.into(),
                path: r.path.clone(),
                locales: r.locales.clone(),
                deny: r.deny,
            })
            .collect()
    }
    /// Administrators and Guests, which cannot be deleted.
    async fn is_system(&self) -> bool {
        self.0.is_system
    }
    /// Members.
    async fn user_count(&self) -> i64 {
        self.0.user_count
    }
    /// Created (RFC 3339).
    async fn created_at(&self) -> String {
        timestamp(self.0.created_at)
    }
    /// Last changed (RFC 3339).
    async fn updated_at(&self) -> String {
        timestamp(self.0.updated_at)
    }
}

/// How a page rule's `path` picks pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[graphql(remote = "errata_identity::RuleMatch")]
pub enum PageRuleMatch {
    /// The page is at the path or under it: `/docs` covers `/docs` and
    /// `/docs/a`, not `/docsx`.
    #[default]
    Start,
    /// The page is at the path.
    Exact,
    /// The page's path ends with the path's segments: `/intro` covers
    /// `/docs/intro`, not `/docs/xintro`.
    End,
    /// The path is a pattern (Rust's regex syntax) the page's path,
    /// without its leading `/` (`docs/intro`), matches.
    Regex,
    /// The page carries the path as a tag, in any case.
    Tag,
}

/// A page rule: page permissions allowed or denied on the pages it
/// matches.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "PageRule")]
pub struct PageRuleOutput {
    /// The client's name for the rule.
    pub id: String,
    /// Page permissions, such as `write:pages`.
    pub permissions: Vec<String>,
    /// The same permissions, under Wiki.js's name.
    pub roles: Vec<String>,
    /// How `path` picks pages.
    #[graphql(name = "match")]
    pub matching: PageRuleMatch,
    /// A path (START, EXACT, END), a pattern (REGEX) or a tag (TAG).
    pub path: String,
    /// Locale codes the rule is limited to; none for every locale.
    pub locales: Vec<String>,
    /// Deny instead of allow. The longest matching rule decides; at equal
    /// length EXACT > TAG > REGEX > END > START, then deny wins.
    pub deny: bool,
}

/// A page rule to set. Its permissions are named in `permissions` or, as
/// Wiki.js's client sends them, `roles`: exactly one of the two.
#[derive(Debug, Clone, InputObject)]
pub struct PageRuleInput {
    /// The client's name for the rule, kept as sent.
    #[graphql(default)]
    pub id: String,
    /// Page permissions, such as `write:pages`.
    pub permissions: Option<Vec<String>>,
    /// Page permissions, under Wiki.js's name.
    pub roles: Option<Vec<String>>,
    /// How `path` picks pages.
    #[graphql(name = "match", default)]
    pub matching: PageRuleMatch,
    /// A path starting with `/` (START, EXACT, END), a pattern (REGEX) or a
    /// tag (TAG).
    pub path: String,
    /// Locale codes (`en`, `pt-br`) to limit the rule to; none for every
    /// locale.
    #[graphql(default)]
    pub locales: Vec<String>,
    /// Deny instead of allow.
    #[graphql(default)]
    pub deny: bool,
}

impl PageRuleInput {
    /// The rule, `index` naming it when its permissions are given twice or
    /// not at all.
    fn into_rule(self, index: usize) -> Result<PageRule, errata_catalog::Error> {
        let permissions = match (self.permissions, self.roles) {
            (Some(permissions), None) | (None, Some(permissions)) => permissions,
            _ => {
                return Err(security::page_rule_invalid(
                    index,
                    "it must name its permissions in exactly one of `roles` and `permissions`"
                        .to_owned(),
                ));
            }
        };
        Ok(PageRule {
            id: self.id,
            permissions,
            matching: self.matching.into(),
            path: self.path,
            locales: self.locales,
            deny: self.deny,
        })
    }
}

/// A group mutation's status and the group.
#[derive(Debug, SimpleObject)]
pub struct GroupResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The group, on success.
    pub group: Option<Group>,
}

/// Group queries.
#[derive(Debug)]
pub struct GroupQuery;

#[Object]
impl GroupQuery {
    /// Every group.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<Vec<Group>>> {
        Ok(Some(
            identity(ctx)?
                .groups()
                .await?
                .into_iter()
                .map(Group)
                .collect(),
        ))
    }

    /// One group; NOT_FOUND when there is none.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn single(&self, ctx: &Context<'_>, id: i64) -> Result<Option<Group>> {
        Ok(Some(Group(identity(ctx)?.group(id).await?)))
    }
}

/// Group mutations.
#[derive(Debug)]
pub struct GroupMutation;

#[Object]
impl GroupMutation {
    /// Creates a group with no permission.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn create(&self, ctx: &Context<'_>, name: String) -> Result<Option<GroupResponse>> {
        let result = identity(ctx)?.create_group(&name).await;
        let (status, group) = settle(ctx, result, "Group created")?;
        Ok(Some(GroupResponse {
            response_result: status,
            group: group.map(Group),
        }))
    }

    /// Renames a group, or sets its permissions or page rules.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn update(
        &self,
        ctx: &Context<'_>,
        id: i64,
        name: Option<String>,
        permissions: Option<Vec<String>>,
        page_rules: Option<Vec<PageRuleInput>>,
    ) -> Result<Option<GroupResponse>> {
        let rules = page_rules
            .map(|rules| {
                rules
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| r.into_rule(i))
                    .collect::<Result<Vec<PageRule>, _>>()
            })
            .transpose();
        let result = match rules {
            Ok(rules) => {
                identity(ctx)?
                    .update_group(
                        caller(ctx)?,
                        id,
                        name.as_deref(),
                        permissions.as_deref(),
                        rules,
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let (status, group) = settle(ctx, result, "Group updated")?;
        Ok(Some(GroupResponse {
            response_result: status,
            group: group.map(Group),
        }))
    }

    /// Deletes a group; Administrators and Guests are protected.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn delete(&self, ctx: &Context<'_>, id: i64) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?.delete_group(caller(ctx)?, id).await;
        DefaultResponse::settle(ctx, result, "Group deleted").map(Some)
    }

    /// Adds a user to a group.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn assign_user(
        &self,
        ctx: &Context<'_>,
        group_id: i64,
        user_id: i64,
    ) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?
            .assign_user(caller(ctx)?, group_id, user_id)
            .await;
        DefaultResponse::settle(ctx, result, "User assigned").map(Some)
    }

    /// Removes a user from a group.
    #[graphql(guard = "Needs(Permission::ManageGroups)", directive = requires::apply("manage:groups".into()))]
    async fn unassign_user(
        &self,
        ctx: &Context<'_>,
        group_id: i64,
        user_id: i64,
    ) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?
            .unassign_user(caller(ctx)?, group_id, user_id)
            .await;
        DefaultResponse::settle(ctx, result, "User unassigned").map(Some)
    }
}
