//! Built without the `ipc` feature (`--no-default-features --features tokio`), an `ipc://`
//! endpoint still parses, but binding or connecting it is a clear error that names the
//! feature: never a panic, never a dial that silently does nothing. Empty in other builds.
#![cfg(all(feature = "tokio", not(feature = "ipc")))]

use zmtp::{Endpoint, Error, Pull, Push};

fn assert_feature_off(what: &str, r: Result<(), Error>) {
    match r {
        Err(Error::Endpoint(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("`ipc` feature"),
                "{what}: the error should name the feature: {text}"
            );
        }
        other => panic!("{what}: expected Error::Endpoint, got {other:?}"),
    }
}

#[tokio::test]
async fn ipc_endpoints_are_refused_with_the_feature_named() {
    let path = std::env::temp_dir().join(format!("zmtp-no-ipc-{}.sock", std::process::id()));
    let ep = format!("ipc://{}", path.display());
    // Parsing is the same in every build.
    assert!(matches!(ep.parse::<Endpoint>(), Ok(Endpoint::Ipc { .. })));

    let pull = Pull::new();
    assert_feature_off("bind", pull.bind(&ep).map(|_| ()));
    assert_feature_off("bind ipc://*", pull.bind("ipc://*").map(|_| ()));
    assert!(!path.exists(), "no socket file may be made");
    let push = Push::new();
    assert_feature_off("connect", push.connect(&ep));

    // Nothing was bound or connected: the sockets still work over tcp.
    let tcp = pull.bind("tcp://127.0.0.1:0").expect("tcp bind");
    push.connect(&tcp.to_string()).expect("tcp connect");
    push.send(zmtp::Message::from("after")).await.expect("send");
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), pull.recv())
        .await
        .expect("a message within 5 s")
        .expect("recv");
    assert_eq!(got, zmtp::Message::from("after"));
    push.close().await;
    pull.close().await;
}
