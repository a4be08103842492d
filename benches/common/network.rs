//! A network between a node and its database, for the benches that run several nodes on one
//! machine: a proxy that delays every packet, as when each runs on a host of its own.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `count` simulated nodes (`node-0`, `node-1`…) with `config` on the registry at `url`,
/// each behind a proxy of its own that delays every packet by `delay`, or straight to it.
pub fn start_nodes(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    delay: Option<Duration>,
    count: usize,
    config: &str,
) -> Vec<super::Daemon> {
    (0..count)
        .map(|n| {
            let node_url = match delay {
                None => url.to_string(),
                Some(delay) => runtime.block_on(through_proxy(url, delay)),
            };
            let args = ["--database-url", node_url.as_str()];
            super::Daemon::start_node(config, &format!("node-{n}"), &args)
        })
        .collect()
}

/// The proxy's delay each way: `WASESS_BENCH_DELAY_MS`, default 1 (which tokio's millisecond
/// timer makes 1 to 2 ms).
pub fn delay_from_env() -> Duration {
    Duration::from_millis(
        std::env::var("WASESS_BENCH_DELAY_MS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(1),
    )
}

/// `url` with its host and port replaced by a proxy that forwards to them, holding every
/// chunk for `delay` in each direction.
pub async fn through_proxy(url: &str, delay: Duration) -> String {
    let authority_start = url.find("://").expect("a URL") + 3;
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |end| authority_start + end);
    let authority = &url[authority_start..authority_end];
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let target = &authority[host_start..];
    let target: SocketAddr = tokio::net::lookup_host(target)
        .await
        .expect("the database's host:port")
        .next()
        .expect("an address for the database");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::join!(
                    delayed(client_read, server_write, delay),
                    delayed(server_read, client_write, delay)
                );
            });
        }
    });
    format!(
        "{}{}{proxy}{}",
        &url[..authority_start],
        &authority[..host_start],
        &url[authority_end..]
    )
}

/// Copies `from` to `to`, each chunk written `delay` after it was read, in order.
async fn delayed(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (chunks, mut pending) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(read @ 1..) = from.read(&mut buffer).await {
            if chunks
                .send((Instant::now() + delay, buffer[..read].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = pending.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

/// The median of 20 `SELECT 1` round trips on `url`.
pub async fn round_trip(url: &str) -> Duration {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    let mut times = Vec::new();
    for _ in 0..20 {
        let at = Instant::now();
        sqlx::query("SELECT 1")
            .execute(&mut conn)
            .await
            .expect("SELECT 1");
        times.push(at.elapsed());
    }
    super::percentiles(&mut times).0
}
