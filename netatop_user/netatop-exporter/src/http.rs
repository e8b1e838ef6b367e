//! The HTTP side: `GET /metrics` answers a scrape, `GET /` a short page.
//!
//! tiny_http parses the requests and writes the answers; requests are
//! answered one at a time, in the order they come.

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use crate::collect::Source;
use crate::metrics::{encode, Format};

/// The page at `/`.
const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>netatop exporter</title></head>\
<body><h1>netatop exporter</h1><p>Network counters of the netatop kernel module, \
per cgroup and per process: <a href=\"/metrics\">/metrics</a></p></body></html>\n";

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|()| unreachable!("valid header {name}: {value}"))
}

fn text(status: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

/// Answers one request: a scrape for `/metrics` (taking a snapshot from
/// `source`, with the `top` processes exported one by one), the index page
/// for `/`, 404 for other paths and 405 for methods other than GET and
/// HEAD. An error writing the answer (the client went away) is ignored.
pub fn handle(request: Request, source: &mut Source, top: usize) {
    let method = request.method().clone();
    if !matches!(method, Method::Get | Method::Head) {
        let resp = text(405, "only GET and HEAD\n").with_header(header("Allow", "GET, HEAD"));
        let _ = request.respond(resp);
        return;
    }
    let path = request.url().split('?').next().unwrap_or("");
    let resp = match path {
        "/metrics" => {
            let accept = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_owned());
            let format = Format::from_accept(accept.as_deref());
            match encode(source.collect(), top, format) {
                Ok(body) => Response::from_string(body)
                    .with_header(header("Content-Type", format.content_type())),
                Err(_) => text(500, "encoding the metrics failed\n"),
            }
        }
        "/" => Response::from_string(INDEX)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        _ => text(404, "not found: try /metrics\n"),
    };
    let _ = request.respond(resp);
}

/// Answers requests until the server is unblocked
/// ([`Server::unblock`]) or fails.
pub fn serve(server: &Server, source: &mut Source, top: usize) {
    for request in server.incoming_requests() {
        handle(request, source, top);
    }
}
