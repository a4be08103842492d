//! `users.add`, `users.list`, `users.remove`.

use super::user_key;
use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::model::{Connection, UserInfo};
use crate::protocol::{UserParams, UsersListParams, UsersResult};

const DEFAULT_LIMIT: u32 = 10_000;

pub async fn add(supervisor: &Supervisor, params: UserParams) -> Result<UserInfo, Error> {
    let user = user_key(&params.user)?;
    let added = supervisor.registry().add_user(&user).await?;
    Ok(added)
}

pub async fn list(supervisor: &Supervisor, params: UsersListParams) -> Result<UsersResult, Error> {
    Ok(UsersResult {
        users: supervisor
            .registry()
            .users(params.limit.unwrap_or(DEFAULT_LIMIT).max(1))
            .await?,
    })
}

/// Removes the user after logging out its session and deleting its credentials.
pub async fn remove(supervisor: &Supervisor, params: UserParams) -> Result<Connection, Error> {
    supervisor.remove_user(&user_key(&params.user)?).await
}
