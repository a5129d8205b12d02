//! Harness sanity: the server starts, logs in, and answers an authenticated route.

use crate::support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_starts_and_logs_in() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(status["status"], "running");
    server.stop().await;
}
