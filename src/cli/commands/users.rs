//! `users add|list|remove`.

use crate::cli::args::Global;
use crate::cli::{output, user_key, Error, Outcome, Source};
use crate::model::{Connection, UserInfo};
use crate::protocol::{method, UserParams, UsersListParams, UsersResult};

pub async fn add(global: &Global, user: &str) -> Result<Outcome, Error> {
    let user = user_key(user)?;
    let added: UserInfo = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = UserParams {
                user: user.to_string(),
            };
            source
                .client()
                .await?
                .call(method::USERS_ADD, params)
                .await?
        }
        Source::Offline(offline) => offline.registry.add_user(&user).await?,
    };
    Ok(Outcome::new(&added, format!("added {}", added.user)))
}

pub async fn list(global: &Global, limit: u32) -> Result<Outcome, Error> {
    let result: UsersResult = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = UsersListParams { limit: Some(limit) };
            source
                .client()
                .await?
                .call(method::USERS_LIST, params)
                .await?
        }
        Source::Offline(offline) => UsersResult {
            users: offline.registry.users(limit.max(1)).await?,
        },
    };
    Ok(Outcome::new(&result, output::users(&result.users)))
}

pub async fn remove(global: &Global, user: &str) -> Result<Outcome, Error> {
    let user = user_key(user)?;
    let before: Connection = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = UserParams {
                user: user.to_string(),
            };
            source
                .client()
                .await?
                .call(method::USERS_REMOVE, params)
                .await?
        }
        Source::Offline(offline) => offline.remove_user(&user).await?,
    };
    Ok(Outcome::new(
        &before,
        format!("removed {} (was {})", before.user, before.status),
    ))
}
