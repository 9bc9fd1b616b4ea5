//! The escalation rule as a property: whatever a caller without
//! `manage:system` does to users, groups, tokens and clients, nobody ends up
//! able to do anything the caller could not do before.
//!
//! It drives the identity domain directly, with the calls the GraphQL
//! resolvers make, so that dozens of random worlds and mutation sequences
//! run in seconds; the HTTP tests in `identity.rs` show the same refusals on
//! the wire.

use std::collections::{BTreeMap, BTreeSet};

use errata_identity::login::LoginOutcome;
use errata_identity::users::{NewUser, UserPatch};
use errata_identity::{
    ADMINISTRATORS, GUESTS, Identity, PageRule, PageTarget, Permission, Permissions, Principal,
    PrincipalKind, RuleMatch,
};
use errata_store::Database;
use proptest::prelude::*;

const PASSWORD: &str = "a long enough password";

/// Pages page permissions are probed on: a path, and its tags, which TAG
/// rules match.
const PAGES: [(&str, &[&str]); 4] = [
    ("/", &[]),
    ("/a", &["a"]),
    ("/a/b", &["a", "b"]),
    ("/z", &["z"]),
];

/// Permissions the random worlds are made of.
const POOL: [Permission; 8] = [
    Permission::ReadPages,
    Permission::WritePages,
    Permission::ManagePages,
    Permission::ReadAssets,
    Permission::ManageUsers,
    Permission::ManageGroups,
    Permission::ManageApi,
    Permission::ManageSystem,
];

/// A subject that can act: a user, an API token or an OAuth client.
type Subject = String;
/// What a subject can do: a permission, and for page permissions a path.
type Ability = (&'static str, &'static str);

fn abilities(p: &Principal) -> BTreeSet<Ability> {
    let mut set = BTreeSet::new();
    for perm in Permission::ALL {
        if perm.is_about_pages() {
            for (path, tags) in PAGES {
                let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
                let page = PageTarget {
                    path,
                    locale: "en",
                    tags: &tags,
                };
                if p.has(*perm) && p.has_on(*perm, &page) {
                    set.insert((perm.name(), path));
                }
            }
        } else if p.has(*perm) {
            set.insert((perm.name(), "*"));
        }
    }
    set
}

/// What every subject of the world can do now.
async fn world(identity: &Identity, storage: &Database) -> BTreeMap<Subject, BTreeSet<Ability>> {
    let directory = identity.directory();
    let mut all = BTreeMap::new();
    let acting = |id: i64, kind: PrincipalKind, scope: Option<Permissions>| {
        directory
            .users
            .get(&id)
            .filter(|u| u.active && u.verified)
            .map(|u| {
                Principal::new(
                    kind,
                    id,
                    u.permissions,
                    scope,
                    std::sync::Arc::clone(&u.grants),
                    u.generation,
                )
            })
    };
    for id in directory.users.keys() {
        if let Some(p) = acting(*id, PrincipalKind::Session, None) {
            all.insert(format!("user {id}"), abilities(&p));
        }
    }
    let guest = &directory.guest;
    all.insert("guest".to_owned(), abilities(guest));
    let now = errata_identity::now();
    for client in identity.clients().await.unwrap() {
        if client.is_expired(now) {
            continue;
        }
        let kind = PrincipalKind::Client(client.id.clone());
        if let Some(p) = acting(client.owner_id, kind, Some(client.scopes)) {
            all.insert(format!("client {}", client.id), abilities(&p));
        }
    }
    let tokens: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT id, user_id, permissions FROM api_tokens WHERE revoked_at IS NULL")
            .fetch_all(storage.pool())
            .await
            .unwrap();
    for (id, user, permissions) in tokens {
        let scope = Permissions::from_stored(&permissions);
        let kind = PrincipalKind::ApiToken(id.clone());
        if let Some(p) = acting(user, kind, Some(scope)) {
            all.insert(format!("token {id}"), abilities(&p));
        }
    }
    all
}

fn names(set: Permissions) -> Vec<String> {
    set.names()
}

/// Page rules as drawn: write (else read), which path, deny, match type,
/// locales.
type RuleSpec = Vec<(bool, usize, bool, usize, usize)>;

fn rules(spec: &[(bool, usize, bool, usize, usize)]) -> Vec<PageRule> {
    spec.iter()
        .map(|(write, path, deny, matching, locales)| {
            let (matching, paths) = [
                (RuleMatch::Start, ["/", "/a", "/a/b"]),
                (RuleMatch::Exact, ["/", "/a", "/a/b"]),
                (RuleMatch::End, ["/", "/a", "/b"]),
                (RuleMatch::Regex, ["^", "^a", "b$"]),
                (RuleMatch::Tag, ["a", "b", "z"]),
            ][*matching];
            PageRule {
                permissions: vec![if *write { "write:pages" } else { "read:pages" }.to_owned()],
                matching,
                path: paths[*path].to_owned(),
                locales: [vec![], vec!["en".to_owned()], vec!["fr".to_owned()]][*locales].clone(),
                deny: *deny,
                ..PageRule::default()
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    CreateUser(Vec<usize>),
    SetGroups(usize, Vec<usize>),
    ResetPassword(usize),
    Delete(usize, usize),
    Ban(usize),
    Unban(usize),
    Verify(usize),
    DisableTfa(usize),
    CreateGroup,
    UpdateGroup(usize, Option<Permissions>, Option<RuleSpec>),
    DeleteGroup(usize),
    Assign(usize, usize),
    Unassign(usize, usize),
    CreateToken(Permissions),
    CreateClient(Permissions),
    ExpireClient(usize),
    RotateClient(usize),
}

fn permission_set() -> impl Strategy<Value = Permissions> {
    // manage:system turns up rarely, as it does in real groups.
    proptest::collection::vec((0..POOL.len() - 1, 0..8u8), 0..4).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(i, roll)| if roll == 0 { POOL[7] } else { POOL[i] })
            .collect()
    })
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    proptest::collection::vec(
        (
            any::<bool>(),
            0..3usize,
            any::<bool>(),
            0..5usize,
            0..3usize,
        ),
        0..3,
    )
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = 0..8usize;
    prop_oneof![
        proptest::collection::vec(index.clone(), 0..3).prop_map(Mutation::CreateUser),
        (
            index.clone(),
            proptest::collection::vec(index.clone(), 0..3)
        )
            .prop_map(|(u, g)| Mutation::SetGroups(u, g)),
        index.clone().prop_map(Mutation::ResetPassword),
        (index.clone(), index.clone()).prop_map(|(u, h)| Mutation::Delete(u, h)),
        index.clone().prop_map(Mutation::Ban),
        index.clone().prop_map(Mutation::Unban),
        index.clone().prop_map(Mutation::Verify),
        index.clone().prop_map(Mutation::DisableTfa),
        Just(Mutation::CreateGroup),
        (
            index.clone(),
            proptest::option::of(permission_set()),
            proptest::option::of(rule_spec())
        )
            .prop_map(|(g, p, r)| Mutation::UpdateGroup(g, p, r)),
        index.clone().prop_map(Mutation::DeleteGroup),
        (index.clone(), index.clone()).prop_map(|(g, u)| Mutation::Assign(g, u)),
        (index.clone(), index.clone()).prop_map(|(g, u)| Mutation::Unassign(g, u)),
        permission_set().prop_map(Mutation::CreateToken),
        permission_set().prop_map(Mutation::CreateClient),
        index.clone().prop_map(Mutation::ExpireClient),
        index.prop_map(Mutation::RotateClient),
    ]
}

/// The world's groups, users and clients, by index (wrapping), so that a
/// mutation can name one whatever exists now.
struct Ids {
    users: Vec<i64>,
    groups: Vec<i64>,
    clients: Vec<String>,
}

impl Ids {
    async fn now(identity: &Identity) -> Ids {
        let mut users: Vec<i64> = identity.directory().users.keys().copied().collect();
        users.sort_unstable();
        let groups = identity
            .groups()
            .await
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect();
        let clients = identity
            .clients()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        Ids {
            users,
            groups,
            clients,
        }
    }

    fn user(&self, i: usize) -> i64 {
        self.users[i % self.users.len()]
    }

    fn group(&self, i: usize) -> i64 {
        self.groups[i % self.groups.len()]
    }

    fn client(&self, i: usize) -> Option<&str> {
        (!self.clients.is_empty()).then(|| self.clients[i % self.clients.len()].as_str())
    }
}

async fn run(identity: &Identity, caller: &Principal, mutation: &Mutation, n: usize) {
    let ids = Ids::now(identity).await;
    // Refusals are expected; the property is about what succeeds.
    let _ = match mutation {
        Mutation::CreateUser(groups) => identity
            .create_user(
                caller,
                NewUser {
                    email: format!("new{n}@example.com"),
                    name: None,
                    password: PASSWORD.to_owned(),
                    groups: groups.iter().map(|g| ids.group(*g)).collect(),
                    verified: true,
                },
            )
            .await
            .map(drop),
        Mutation::SetGroups(user, groups) => identity
            .update_user(
                caller,
                ids.user(*user),
                UserPatch {
                    groups: Some(groups.iter().map(|g| ids.group(*g)).collect()),
                    ..UserPatch::default()
                },
            )
            .await
            .map(drop),
        Mutation::ResetPassword(user) => identity
            .update_user(
                caller,
                ids.user(*user),
                UserPatch {
                    password: Some("someone else's password".to_owned()),
                    ..UserPatch::default()
                },
            )
            .await
            .map(drop),
        Mutation::Delete(user, heir) => {
            identity
                .delete_user(caller, ids.user(*user), Some(ids.user(*heir)))
                .await
        }
        Mutation::Ban(user) => identity.set_active(caller, ids.user(*user), false).await,
        Mutation::Unban(user) => identity.set_active(caller, ids.user(*user), true).await,
        Mutation::Verify(user) => identity.verify_user(caller, ids.user(*user)).await,
        Mutation::DisableTfa(user) => identity.disable_tfa(caller, ids.user(*user)).await,
        Mutation::CreateGroup => identity.create_group(&format!("group {n}")).await.map(drop),
        Mutation::UpdateGroup(group, permissions, spec) => {
            let permissions = permissions.map(names);
            identity
                .update_group(
                    caller,
                    ids.group(*group),
                    None,
                    permissions.as_deref(),
                    spec.as_deref().map(rules),
                )
                .await
                .map(drop)
        }
        Mutation::DeleteGroup(group) => identity.delete_group(caller, ids.group(*group)).await,
        Mutation::Assign(group, user) => {
            identity
                .assign_user(caller, ids.group(*group), ids.user(*user))
                .await
        }
        Mutation::Unassign(group, user) => {
            identity
                .unassign_user(caller, ids.group(*group), ids.user(*user))
                .await
        }
        Mutation::CreateToken(permissions) => identity
            .create_api_token(caller, "script", &names(*permissions), 30)
            .await
            .map(drop),
        Mutation::CreateClient(scopes) => identity
            .create_client_for(caller, "app", &names(*scopes), None)
            .await
            .map(drop),
        Mutation::ExpireClient(client) => match ids.client(*client) {
            Some(id) => identity.expire_client(caller, id).await.map(drop),
            None => Ok(()),
        },
        Mutation::RotateClient(client) => match ids.client(*client) {
            Some(id) => identity.rotate_client(caller, id).await.map(drop),
            None => Ok(()),
        },
    };
}

/// A world: three groups with random permissions and page rules, the
/// caller in some of them, two other users, an administrator who owns a
/// client with every scope, and a client of one of the users.
#[derive(Debug, Clone)]
struct Seed {
    groups: Vec<(Permissions, RuleSpec)>,
    caller_groups: Vec<usize>,
    others: Vec<Vec<usize>>,
    client_scopes: Permissions,
}

fn seed() -> impl Strategy<Value = Seed> {
    (
        proptest::collection::vec((permission_set(), rule_spec()), 3),
        proptest::collection::vec(0..5usize, 1..3),
        proptest::collection::vec(proptest::collection::vec(0..5usize, 0..3), 2),
        permission_set(),
    )
        .prop_map(|(groups, caller_groups, others, client_scopes)| Seed {
            groups,
            caller_groups,
            others,
            client_scopes,
        })
}

async fn check(seed: Seed, mutations: Vec<Mutation>, case: usize) -> Result<(), TestCaseError> {
    let dir = errata_test_support::data_dir().join(format!("escalation-{case}"));
    let scratch = errata_store::testing::Scratch::new(errata_test_support::backend()).await;
    let config = errata_server::Config {
        data: dir.clone(),
        database: match &scratch.url {
            errata_store::DatabaseUrl::Postgres(url) => url.clone(),
            errata_store::DatabaseUrl::Sqlite(_) => String::new(),
        },
        ..errata_server::Config::default()
    };
    let storage = errata_server::storage::open(&config).await.unwrap();
    let mail = errata_mail::Mail::new(storage.clone(), Default::default(), &dir);
    let identity = Identity::open(storage.clone(), Default::default(), mail)
        .await
        .unwrap();
    let operator = Principal::operator();
    let mut groups = vec![ADMINISTRATORS, GUESTS];
    for (i, (permissions, spec)) in seed.groups.iter().enumerate() {
        let group = identity.create_group(&format!("seed {i}")).await.unwrap();
        identity
            .update_group(
                &operator,
                group.id,
                None,
                Some(&names(*permissions)),
                Some(rules(spec)),
            )
            .await
            .unwrap();
        groups.push(group.id);
    }
    let pick = |indexes: &[usize]| -> Vec<i64> { indexes.iter().map(|i| groups[*i]).collect() };
    let mut users = Vec::new();
    for (email, member_of) in [
        ("admin@example.com", vec![ADMINISTRATORS]),
        ("caller@example.com", pick(&seed.caller_groups)),
        ("one@example.com", pick(&seed.others[0])),
        ("two@example.com", pick(&seed.others[1])),
    ] {
        let user = identity
            .create_user(
                &operator,
                NewUser {
                    email: email.to_owned(),
                    name: None,
                    password: PASSWORD.to_owned(),
                    groups: member_of,
                    verified: true,
                },
            )
            .await
            .unwrap();
        users.push(user.id);
    }
    identity
        .create_client(users[0], "admin's", Permissions::all(), None)
        .await
        .unwrap();
    identity
        .create_client(users[2], "one's", seed.client_scopes, None)
        .await
        .unwrap();
    let LoginOutcome::Session(session) = identity
        .login("caller@example.com", PASSWORD, "local", None)
        .await
        .unwrap()
    else {
        unreachable!("the caller has no TFA");
    };
    let bearer = format!("Bearer {session}");
    for (n, mutation) in mutations.iter().enumerate() {
        // The caller as the server would see them now: their groups may
        // have changed, or they may have lost their session.
        let Ok(caller) = identity.authenticate(Some(&bearer)) else {
            break;
        };
        if caller.has(Permission::ManageSystem) {
            break;
        }
        let held = abilities(&caller);
        let before = world(&identity, &storage).await;
        run(&identity, &caller, mutation, n).await;
        let after = world(&identity, &storage).await;
        for (subject, can) in &after {
            let could = before.get(subject);
            let gained: Vec<&Ability> = can
                .iter()
                .filter(|a| !could.is_some_and(|c| c.contains(*a)) && !held.contains(*a))
                .collect();
            prop_assert!(
                gained.is_empty(),
                "after {mutation:?} by a caller holding {held:?}, {subject} gained {gained:?}"
            );
        }
    }
    storage.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_mutation_lets_anyone_do_more_than_its_caller_could(
        seed in seed(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CASE: AtomicUsize = AtomicUsize::new(0);
        let case = CASE.fetch_add(1, Ordering::Relaxed);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(seed, mutations, case))?;
    }
}
