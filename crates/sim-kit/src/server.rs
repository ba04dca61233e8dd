//! The handle of a running simulator's HTTP server: serve a router on a [`KillableListener`] in
//! a background task, stop it gracefully, and the signal wait of the standalone binaries.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::conn::{Conn, KillableListener};

/// How long [`SimServer::shutdown`] lets open requests finish before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server running in a background task. Dropping it asks the server to stop.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Serves `app` on `listener`; handlers get [`Conn`] as `ConnectInfo`. `name` labels logs.
    pub fn serve(listener: KillableListener, app: Router, name: &'static str) -> SimServer {
        let addr = listener.addr();
        let app = app.into_make_service_with_connect_info::<Conn>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "{name} server stopped with an error");
            }
        });
        SimServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets open requests finish (at most 5 s) and waits for the server task.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this returns, so a binary
/// calls it before printing its address: a supervisor that signals right after reading the
/// address still gets a clean shutdown.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_raw(addr: SocketAddr, path: &str) -> io::Result<String> {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn serves_kills_one_connection_and_stops() {
        let app = Router::new().route("/ok", get(|| async { "fine" })).route(
            "/kill",
            get(|ConnectInfo(c): ConnectInfo<Conn>| async move {
                c.kill();
                "never sent"
            }),
        );
        let listener = KillableListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let mut server = SimServer::serve(listener, app, "test");
        assert_eq!(server.base_url(), format!("http://{}", server.addr()));
        let ok = get_raw(server.addr(), "/ok").await.unwrap();
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("fine"),
            "{ok}"
        );
        let killed = get_raw(server.addr(), "/kill").await.unwrap_or_default();
        assert!(
            killed.is_empty(),
            "a killed connection answers nothing: {killed}"
        );
        assert!(
            get_raw(server.addr(), "/ok").await.is_ok(),
            "other connections live on"
        );
        server.shutdown().await;
        assert!(get_raw(server.addr(), "/ok").await.is_err(), "stopped");
    }
}
