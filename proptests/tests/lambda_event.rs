//! Every event shape the Lambda shim accepts, with every gRPC-Web content type, answers the echo,
//! and the proxy reads every response shape: the checks the `lambda_event` and `proxy_response`
//! fuzz targets run, over the whole table.

use grpc_lambda_proptests::fuzz_checks::FuzzInput;
use grpc_lambda_proptests::lambda_event::LambdaEventInput;

#[test]
fn every_shape_and_content_type_answers() {
    let mut echoed = 0;
    for shape in 0u8..9 {
        for content_type in 0u8..9 {
            for body in 0u8..4 {
                for double_encoded in 0u8..2 {
                    let mut data = vec![0, shape, 0, 0, content_type, 0, body, double_encoded];
                    data.extend_from_slice(b"\x07payload");
                    if LambdaEventInput::read(&data).check_response() {
                        echoed += 1;
                    }
                }
            }
        }
    }
    // 9 shapes, 4 gRPC-Web content types, the body sent once as is and once encoded again.
    assert_eq!(echoed, 9 * 4 * 2);
}

/// Every front door, every path: the echo method runs only for the path that routes to it. The
/// others (a stage or base path the door would not send, extra, empty or dot segments, a query)
/// are answered `UNIMPLEMENTED`, which `check_response` asserts.
#[test]
fn only_the_routed_method_runs_through_every_shape() {
    for shape in 0u8..9 {
        for path in 0u8..8 {
            // POST, application/grpc-web+proto, no timeout, a valid body sent once.
            let mut data = vec![0, shape, 0, path, 3, 0, 0, 0];
            data.extend_from_slice(b"\x07payload");
            let echoed = LambdaEventInput::read(&data).check_response();
            assert_eq!(echoed, path == 0, "shape {shape}, path {path}");
        }
    }
}

#[test]
fn raw_json_never_panics() {
    for raw in [
        &b""[..],
        b"{}",
        b"null",
        b"[]",
        br#"{"grpcLambda":1}"#,
        br#"{"httpMethod":"POST","body":"%%%","isBase64Encoded":true}"#,
        br#"{"version":"2.0","rawPath":"/a/b","requestContext":{"http":{}}}"#,
    ] {
        let mut data = vec![1u8];
        data.extend_from_slice(raw);
        LambdaEventInput::read(&data).check();
    }
}

/// Every response shape the proxy reads, with every body shape, reads back exactly.
#[test]
fn the_proxy_reads_every_response_shape() {
    use grpc_lambda_proptests::proxy_response::ProxyResponseInput;
    for status in [0u8, 1, 2] {
        for headers in 0u8..4 {
            for body in 0u8..5 {
                let mut data = vec![0, status, headers, 2];
                for (name, value) in [("content-type", "application/grpc-web"), ("x-a", "1")] {
                    data.push(name.len() as u8);
                    data.extend_from_slice(name.as_bytes());
                    data.push(value.len() as u8);
                    data.extend_from_slice(value.as_bytes());
                }
                data.push(body);
                data.extend_from_slice(b"\x80\x00\x00\x00\x10grpc-status: 0\r\n");
                ProxyResponseInput::read(&data).check();
            }
        }
    }
}
