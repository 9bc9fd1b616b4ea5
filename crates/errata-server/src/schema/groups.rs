//! `groups { ... }`: groups, their permissions and page rules.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
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
    /// Page rules, most specific path first at check time.
    async fn page_rules(&self) -> Vec<PageRuleOutput> {
        self.0
            .page_rules
            .iter()
            .map(|r| PageRuleOutput {
                permissions: r.permissions.clone(),
                path: r.path.clone(),
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

/// A page rule: page permissions allowed or denied under a path prefix.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "PageRule")]
pub struct PageRuleOutput {
    /// Page permissions, such as `write:pages`.
    pub permissions: Vec<String>,
    /// Path prefix: `/docs` covers `/docs` and `/docs/a`.
    pub path: String,
    /// Deny instead of allow; at equal prefix length, deny wins.
    pub deny: bool,
}

/// A page rule to set.
#[derive(Debug, Clone, InputObject)]
pub struct PageRuleInput {
    /// Page permissions, such as `write:pages`.
    pub permissions: Vec<String>,
    /// Path prefix, starting with `/`.
    pub path: String,
    /// Deny instead of allow.
    #[graphql(default)]
    pub deny: bool,
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
        let rules = page_rules.map(|rules| {
            rules
                .into_iter()
                .map(|r| PageRule {
                    permissions: r.permissions,
                    path: r.path,
                    deny: r.deny,
                })
                .collect()
        });
        let result = identity(ctx)?
            .update_group(
                caller(ctx)?,
                id,
                name.as_deref(),
                permissions.as_deref(),
                rules,
            )
            .await;
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
