//! The OpenAPI 3 document of the coordinator's API, generated from the
//! types in [`crate::types`] and the table in [`crate::Endpoint`]: served at
//! `/openapi.json`, checked in at `docs/openapi.json`.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
use utoipa::{IntoParams, OpenApi};

use crate::endpoint::{Caller, Endpoint, Method};
use crate::types::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "resi coordinator",
        description = "Zipcode assignments, miner status and S3 access for the resi subnet (SN46). \
Signed endpoints take `hotkey`, `timestamp` (Unix seconds) and `signature` (sr25519 over the \
endpoint's commitment string, see `x-commitments`). Every refusal is an `ErrorBody`.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(
        SignedFields,
        ErrorBody,
        HealthResponse,
        DatabaseHealth,
        AssignmentResponse,
        resi_core::Assignment,
        resi_core::AssignedZipcode,
        resi_core::assignment::AssignmentMetadata,
        resi_core::MarketTier,
        MinerStatusRequest,
        StatusReport,
        MiningStatus,
        CompletedZipcode,
        NotUploaded,
        ScraperName,
        MinerStatusResponse,
        FolderAccessRequest,
        ValidatorUploadRequest,
        UploadAccessResponse,
        UploadMetadata,
        resi_storage::PostForm,
        ValidatorReadRequest,
        ReadObject,
        ReadPage,
        StatsResponse,
        EpochStatus,
        EpochStatusCurrent,
        EpochTiming,
        NextEpoch,
        CurrentEpochStats,
        StatsConfiguration,
        resi_core::selection::SelectionParams,
    ))
)]
struct Document;

/// (request body, success body) schema names.
fn bodies(endpoint: Endpoint) -> (Option<&'static str>, &'static str) {
    match endpoint {
        Endpoint::Healthcheck => (None, "HealthResponse"),
        Endpoint::CurrentAssignment | Endpoint::EpochAssignment => (None, "AssignmentResponse"),
        Endpoint::MinerStatus => (Some("MinerStatusRequest"), "MinerStatusResponse"),
        Endpoint::Stats => (None, "StatsResponse"),
        Endpoint::FolderAccess => (Some("FolderAccessRequest"), "UploadAccessResponse"),
        Endpoint::ValidatorRead => (Some("ValidatorReadRequest"), "ReadPage"),
        Endpoint::ValidatorUpload => (Some("ValidatorUploadRequest"), "UploadAccessResponse"),
    }
}

fn json(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

/// The document, identical for every build of the same source.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Document::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut paths = Paths::new();
    for endpoint in Endpoint::ALL {
        let (request, response) = bodies(endpoint);
        let who = match endpoint.caller() {
            Caller::Public => "Anyone (rate-limited per IP).",
            Caller::Registered => "A hotkey registered on the subnet.",
            Caller::Validator => "A validator (permit, or stake above the configured minimum).",
        };
        let mut operation = OperationBuilder::new()
            .operation_id(Some(endpoint.name().replace(' ', "_")))
            .summary(Some(endpoint.name()))
            .description(Some(who))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("success")
                    .content("application/json", json(response))
                    .build(),
            )
            .response(
                "default",
                ResponseBuilder::new()
                    .description("refusal (4xx) or failure (5xx)")
                    .content("application/json", json("ErrorBody"))
                    .build(),
            );
        if let Some(request) = request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json(request))
                    .build(),
            ));
        }
        if endpoint == Endpoint::EpochAssignment {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name("epoch_id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("`YYYY-MM-DDTHH-MM-SS`, the epoch's UTC start"))
                    .schema(Some(utoipa::openapi::schema::Object::with_type(
                        utoipa::openapi::schema::Type::String,
                    ))),
            );
        }
        if endpoint.method() == Method::Get && endpoint.commitment_templates().is_some() {
            operation = operation.parameters(Some(SignedFields::into_params(|| Some(ParameterIn::Query))));
        }
        let mut operation = operation.build();
        if let Some(templates) = endpoint.commitment_templates() {
            let mut extensions = utoipa::openapi::extensions::Extensions::default();
            extensions.insert("x-commitments".into(), serde_json::json!(templates));
            operation.extensions = Some(extensions);
        }
        let method = match endpoint.method() {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
        };
        paths.add_path_operation(endpoint.path(), vec![method], operation);
    }
    doc.paths = paths;
    doc
}

/// The document as the pretty JSON served and checked in (with a final newline).
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_and_referenced_schema_is_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        for endpoint in Endpoint::ALL {
            assert!(doc["paths"][endpoint.path()].is_object(), "{endpoint:?}");
        }
        // Every $ref points at a component that exists.
        let text = document_json();
        for piece in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
        }
        assert_eq!(document_json(), document_json());
    }
}
