//! `users { ... }`: listing and administering users.

use async_graphql::{Context, Object, Result, SimpleObject};
use errata_identity::Permission;
use errata_identity::users::{NewUser, UserPatch};

use super::auth::DefaultResponse;
use super::context::{
    Needs, ResponseStatus, authenticated, caller, identity, requires, settle, timestamp,
};

/// A user.
#[derive(Debug, Clone)]
pub struct User(pub errata_identity::users::User);

#[Object]
impl User {
    /// Id.
    async fn id(&self) -> i64 {
        self.0.id
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email address, which is also the login.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Authentication strategy.
    async fn provider_key(&self) -> &str {
        &self.0.provider
    }
    /// A system account (the guest), which cannot be deleted.
    async fn is_system(&self) -> bool {
        self.0.is_system
    }
    /// Not banned.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// Email verified.
    async fn is_verified(&self) -> bool {
        self.0.is_verified
    }
    /// Two-factor authentication is on.
    #[graphql(name = "tfaEnabled")]
    async fn tfa_enabled(&self) -> bool {
        self.0.tfa_enabled
    }
    /// Created (RFC 3339).
    async fn created_at(&self) -> String {
        timestamp(self.0.created_at)
    }
    /// Last changed (RFC 3339).
    async fn updated_at(&self) -> String {
        timestamp(self.0.updated_at)
    }
    /// Last login (RFC 3339).
    async fn last_login_at(&self) -> Option<String> {
        self.0.last_login_at.map(timestamp)
    }
    /// Groups.
    async fn groups(&self) -> Vec<UserGroup> {
        self.0
            .groups
            .iter()
            .map(|(id, name)| UserGroup {
                id: *id,
                name: name.clone(),
            })
            .collect()
    }
}

/// A group a user is in.
#[derive(Debug, Clone, SimpleObject)]
pub struct UserGroup {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A user mutation's status and the user.
#[derive(Debug, SimpleObject)]
pub struct UserResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The user, on success.
    pub user: Option<User>,
}

/// User queries.
#[derive(Debug)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Every user.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<Vec<User>>> {
        Ok(Some(
            identity(ctx)?
                .users()
                .await?
                .into_iter()
                .map(User)
                .collect(),
        ))
    }

    /// One user; NOT_FOUND (UserNotFound) when there is none.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn single(&self, ctx: &Context<'_>, id: i64) -> Result<Option<User>> {
        Ok(Some(User(identity(ctx)?.user(id).await?)))
    }

    /// The caller.
    #[graphql(directive = authenticated::apply())]
    async fn profile(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let user = caller(ctx)?.user()?;
        Ok(Some(User(identity(ctx)?.user(user).await?)))
    }
}

/// User mutations.
#[derive(Debug)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user, verified, in the given groups (Users when none).
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn create(
        &self,
        ctx: &Context<'_>,
        email: String,
        password_raw: String,
        name: Option<String>,
        #[graphql(default)] groups: Vec<i64>,
    ) -> Result<Option<UserResponse>> {
        let result = identity(ctx)?
            .create_user(
                caller(ctx)?,
                NewUser {
                    email,
                    name,
                    password: password_raw,
                    groups,
                    verified: true,
                },
            )
            .await;
        let (status, user) = settle(ctx, result, "User created")?;
        Ok(Some(UserResponse {
            response_result: status,
            user: user.map(User),
        }))
    }

    /// Changes a user; a new password ends their sessions.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn update(
        &self,
        ctx: &Context<'_>,
        id: i64,
        email: Option<String>,
        name: Option<String>,
        groups: Option<Vec<i64>>,
        new_password: Option<String>,
    ) -> Result<Option<UserResponse>> {
        let patch = UserPatch {
            email,
            name,
            groups,
            password: new_password,
        };
        let result = identity(ctx)?.update_user(caller(ctx)?, id, patch).await;
        let (status, user) = settle(ctx, result, "User updated")?;
        Ok(Some(UserResponse {
            response_result: status,
            user: user.map(User),
        }))
    }

    /// Deletes a user. The guest is protected (UserDeleteProtected); a user
    /// who owns OAuth clients needs `replaceId`, who takes them over
    /// (UserDeleteForeignConstraint otherwise).
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn delete(
        &self,
        ctx: &Context<'_>,
        id: i64,
        replace_id: Option<i64>,
    ) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?
            .delete_user(caller(ctx)?, id, replace_id)
            .await;
        DefaultResponse::settle(ctx, result, "User deleted").map(Some)
    }

    /// Bans a user: login fails with AuthAccountBanned and their tokens stop working.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn ban(&self, ctx: &Context<'_>, id: i64) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?.set_active(caller(ctx)?, id, false).await;
        DefaultResponse::settle(ctx, result, "User banned").map(Some)
    }

    /// Lifts a ban. Tokens from before the ban stay revoked.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn unban(&self, ctx: &Context<'_>, id: i64) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?.set_active(caller(ctx)?, id, true).await;
        DefaultResponse::settle(ctx, result, "User unbanned").map(Some)
    }

    /// Marks a user's address verified.
    #[graphql(guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn verify(&self, ctx: &Context<'_>, id: i64) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?.verify_user(caller(ctx)?, id).await;
        DefaultResponse::settle(ctx, result, "User verified").map(Some)
    }

    /// Turns a user's TFA off, for one who lost their device.
    #[graphql(name = "disableTFA", guard = "Needs(Permission::ManageUsers)", directive = requires::apply("manage:users".into()))]
    async fn disable_tfa(&self, ctx: &Context<'_>, id: i64) -> Result<Option<DefaultResponse>> {
        let result = identity(ctx)?.disable_tfa(caller(ctx)?, id).await;
        DefaultResponse::settle(ctx, result, "Two-factor authentication is off.").map(Some)
    }

    /// Changes the caller's password, checking the current one; every
    /// session ends, this one included.
    #[graphql(directive = authenticated::apply())]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> Result<DefaultResponse> {
        let user = caller(ctx)?.session_user()?;
        let result = identity(ctx)?
            .change_password(user, &current, &new, super::context::request(ctx).ip)
            .await;
        DefaultResponse::settle(ctx, result, "Password changed; sign in again.")
    }
}
