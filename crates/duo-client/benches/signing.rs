//! Signing throughput: building and signing one v5 request (GET with paging
//! parameters, POST with a JSON body) and one v2 form request.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use duo_client::transport::{BoxFuture, HttpRequest, HttpResponse, Transport, TransportError};
use duo_client::{DuoClient, DuoConfig, Method, Params, RateLimits, SignatureVersion};

struct Never;
impl Transport for Never {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async { unreachable!("benchmarks never send") })
    }
}

fn client(signature: SignatureVersion) -> DuoClient {
    let mut config = DuoConfig::new(
        "api-xxxxxxxx.duosecurity.com",
        "DIXXXXXXXXXXXXXXXXXX",
        "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef".to_owned().into(),
    );
    config.signature = signature;
    config.rate_limits = RateLimits::off();
    DuoClient::with_transport(config, Arc::new(Never)).expect("valid config")
}

fn signing(c: &mut Criterion) {
    let date = "Fri, 07 Dec 2012 17:18:00 -0000";
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));

    let v5 = client(SignatureVersion::V5);
    let page = Params::new().with("limit", "300").with("offset", "600");
    group.bench_function("v5_get_users_page", |b| {
        b.iter(|| black_box(v5.prepare(&Method::GET, "/admin/v1/users", black_box(&page), date)));
    });
    let create = Params::new()
        .with("username", "zoë.müller")
        .with("realname", "Zoë Müller")
        .with("email", "zoe.mueller+duo@example.com")
        .with("status", "active");
    group.bench_function("v5_post_create_user", |b| {
        b.iter(|| {
            black_box(v5.prepare(&Method::POST, "/admin/v1/users", black_box(&create), date))
        });
    });
    let v2 = client(SignatureVersion::V2Sha512);
    group.bench_function("v2_post_form_create_user", |b| {
        b.iter(|| {
            black_box(v2.prepare(&Method::POST, "/admin/v1/users", black_box(&create), date))
        });
    });
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
