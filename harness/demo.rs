//! The whole thing on one machine, no Kerberos setup needed: a throwaway realm, the `hello`
//! example serving `HTTP/localhost`, and a real `curl --negotiate` logging in as `alice`.
//!
//! ```sh
//! scripts/demo.sh                 # installs what is missing, builds, runs this
//! scripts/demo.sh 127.0.0.1:9000  # another address
//! ```
//!
//! It keeps serving (try the printed `curl` lines in another terminal) until Ctrl-C. With
//! `DEMO_EXIT_AFTER_REQUEST=1` it stops after the first request instead, and exits 0 only if
//! curl was greeted as alice.
//!
//! Needs MIT Kerberos' KDC tools and curl (Debian/Ubuntu: `krb5-kdc krb5-admin-server
//! krb5-user curl`) and the `hello` example built beside this one
//! (`cargo build --examples`).

use std::ffi::OsStr;
use std::io::{self, BufRead as _, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_gssapi_testing::TestRealm;

/// The server, stopped and reaped whenever the demo ends: normal return, error or panic.
///
/// It runs under a small shell that also stops it when the demo dies without running
/// destructors (`kill <demo pid>`, a test harness's timeout): no orphan keeps the port.
struct Server(Child);

/// `sh -c SUPERVISOR sh PROGRAM ARGS...`, with `OWNER` = the demo's pid.
const SUPERVISOR: &str = r#"
    "$@" &
    server=$!
    trap 'kill "$server" 2>/dev/null; wait "$server"; exit' INT TERM HUP
    while kill -0 "$OWNER" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 0.2; done
    kill "$server" 2>/dev/null
    wait "$server"
"#;

impl Server {
    fn command(program: &std::path::Path) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(program)
            .env("OWNER", std::process::id().to_string());
        cmd
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, which the shell passes on; SIGKILL only if it has not ended in 10 s.
        let _ = Command::new("kill")
            .arg(self.0.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<ExitCode> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listen: SocketAddr = addr.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("expected an address like 127.0.0.1:8080, got {addr:?}"),
        )
    })?;
    if listen.port() == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "give the demo a fixed port, e.g. 127.0.0.1:8080",
        ));
    }
    let port = listen.port();
    // Fail before starting anything when the port is taken (another demo still running?).
    drop(
        TcpListener::bind(listen)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?,
    );
    let exit_after_request = std::env::var_os("DEMO_EXIT_AFTER_REQUEST").is_some_and(|v| v == "1");

    let hello = hello_binary()?;
    // Dropped when `run` returns: stops the KDC and removes the realm's files. Declared
    // before the server so that the server is stopped first.
    let realm = TestRealm::start()?;
    println!(
        "Started a throwaway Kerberos realm {} (KDC on 127.0.0.1:{}, files in {}).",
        realm.realm(),
        realm.kdc_port(),
        realm.dir().display()
    );
    println!(
        "User alice has a ticket in {}; the server's key for HTTP/localhost is in {}.",
        realm.alice_ccache().display(),
        realm.keytab().display()
    );

    let mut server = Server(
        Server::command(&hello)
            .arg(&addr)
            .envs(realm.env())
            .env("SPNEGO_HOSTNAME", "localhost")
            .env(
                "RUST_LOG",
                std::env::var_os("RUST_LOG").unwrap_or_else(|| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", hello.display()))
            })?,
    );
    wait_until_listening(&mut server, listen, Duration::from_secs(10))?;

    let url = format!("http://localhost:{port}/");
    let client_env = [
        ("KRB5_CONFIG", realm.krb5_config().into_os_string()),
        ("KRB5CCNAME", prefixed("FILE:", &realm.alice_ccache())),
    ];

    println!("\n$ curl --negotiate -u : -i {url}");
    let authenticated = curl(&["--negotiate", "-u", ":", "-i", &url], &client_env)?;
    print!("{authenticated}");
    println!("\n$ curl -i {url}");
    print!("{}", curl(&["-i", &url], &client_env)?);

    let expected = format!("Hello, alice@{}", realm.realm());
    let greeted = authenticated.contains(&expected);
    if exit_after_request {
        drop(server);
        return Ok(if greeted {
            println!("\ndemo: OK, curl was greeted with {expected:?}");
            ExitCode::SUCCESS
        } else {
            eprintln!("demo: curl was not greeted with {expected:?}");
            ExitCode::FAILURE
        });
    }

    let env_line = client_env
        .iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(v)))
        .collect::<Vec<_>>()
        .join(" ");
    println!("\nTry it yourself while this runs (the realm disappears when it stops):");
    println!("  {env_line} curl --negotiate -u : {url}");
    println!("and without a ticket, to see the 401 challenge:");
    println!("  curl -i {url}");
    println!("\nServing on {addr}; press Ctrl-C to stop.");
    // Ctrl-C reaches the server too (same process group); otherwise wait for it to end.
    let status = server.0.wait()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        eprintln!("demo: the server exited: {status}");
        ExitCode::FAILURE
    })
}

/// `target/<profile>/examples/hello`, built beside this example.
fn hello_binary() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .map(|dir| dir.join("hello"))
        .unwrap_or_else(|| PathBuf::from("hello"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is missing: build the examples first with `cargo build --examples` \
                 (scripts/demo.sh does)",
                path.display()
            ),
        ))
    }
}

/// Waits (at most `timeout`) for the server's `listening on` line, which it prints once its
/// socket is bound, forwarding its standard output meanwhile and after. Checking only that
/// the port accepts connections would be fooled by another process on that port. Gives up
/// when the server exits first (a bad keytab, the port in use: its error is on stderr above).
fn wait_until_listening(
    server: &mut Server,
    listen: SocketAddr,
    timeout: Duration,
) -> io::Result<()> {
    let stdout = server.0.stdout.take().expect("stdout is piped");
    let (ready_tx, ready) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if line.starts_with("listening on ") {
                let _ = ready_tx.send(());
            }
        }
    });
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = server.0.try_wait()? {
            return Err(io::Error::other(format!(
                "the hello example exited ({status}) before listening on {listen}"
            )));
        }
        if ready.recv_timeout(Duration::from_millis(50)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the hello example is not listening on {listen} after {timeout:?}"),
            ));
        }
    }
    let mut target = listen;
    if target.ip().is_unspecified() {
        target.set_ip(if target.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    TcpStream::connect_timeout(&target, timeout)
        .map(drop)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {target}: {e}")))
}

/// Runs curl with the client's Kerberos environment; returns what it printed.
fn curl(args: &[&str], env: &[(&str, std::ffi::OsString)]) -> io::Result<String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run curl ({e}): install it (Debian/Ubuntu: apt-get install curl)"),
            )
        })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn prefixed(prefix: &str, path: &std::path::Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from(prefix);
    s.push(path);
    s
}

/// Quotes for a POSIX shell, only when needed.
fn shell_quote(value: &OsStr) -> String {
    let s = value.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+@".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
