//! What the web UI asks before it offers a form: `Catalog::may_change` judges a change of some
//! fields as the write's use case would, on SQLite and PostgreSQL.

use ferrometa_catalog::kinds::{ROLE, USER};
use ferrometa_store::Include;

mod common;
use common::{admin, caller, each_catalog};

#[tokio::test]
async fn may_change_needs_the_fields_operations_and_an_admin_for_privileged_fields() {
    each_catalog(async |c| {
        c.seed_access().await.expect("seed the policies and roles");
        let bob = caller(c, "bob", false).await;
        let boss = admin(c, "boss").await;
        let bob_user = c.user_by_name("bob").await.unwrap().expect("bob exists");
        let boss_user = c.user_by_name("boss").await.unwrap().expect("boss exists");

        // Bob owns his user (OrganizationPolicy-Owner-Rule): its description is his to change,
        // its roles and teams are an admin's, as `patch_user` judges them.
        assert!(c.may_change(&bob, &USER, &bob_user, &["description"]).await, "a user may describe itself");
        assert!(!c.may_change(&bob, &USER, &bob_user, &["roles"]).await, "a user's roles need an admin");
        assert!(!c.may_change(&bob, &USER, &bob_user, &["teams"]).await, "a user's teams need an admin");
        assert!(!c.may_change(&bob, &USER, &boss_user, &["displayName"]).await, "no rule lets bob rename someone else");
        assert!(c.may_change(&boss, &USER, &bob_user, &["roles", "teams"]).await, "an admin may");

        // DataConsumerPolicy allows EditDescription on every resource, but a role write changes
        // what someone may do: admins only.
        let role = c.get_by_name(&ROLE, "DataConsumer", Include::NonDeleted).await.expect("the seeded role");
        assert!(!c.may_change(&bob, &ROLE, &role, &["description"]).await, "roles are changed by admins only");
        assert!(c.may_change(&boss, &ROLE, &role, &["description", "policies"]).await);
    })
    .await;
}
