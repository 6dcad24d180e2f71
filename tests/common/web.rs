//! Running `duro serve` for tests: the real binary on a free port, stopped when dropped.

#![allow(dead_code)]

use super::Project;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts `duro serve --bind 127.0.0.1:0` in the project and waits for its URL.
    pub fn start(project: &Project) -> Server {
        let mut child = project
            .command(&["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers of interest and body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub set_cookie: Vec<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let header = |name: &str| {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let content_type = header("content-type").join("");
    let set_cookie = header("set-cookie");
    Reply {
        status: response.status().as_u16(),
        content_type,
        set_cookie,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn get(url: &str) -> Reply {
    reply(agent().get(url).call().unwrap())
}

/// POST with a body and extra headers (`("Content-Type", "application/json")` etc.).
pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = agent().post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    reply(request.send(body).unwrap())
}
