use hero_tests::TestApp;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = TestApp::spawn().await;

    let health = app
        .client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    let ready = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn readyz_answers_503_when_postgres_loses_the_database() {
    let app = TestApp::spawn().await;
    app.db.drop_now().await;

    let ready = app.request(Method::GET, "/readyz").send().await.unwrap();

    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_schemas() {
    let app = TestApp::spawn().await;

    let doc: Value = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let paths = &doc["paths"];
    for (path, methods) in [
        ("/v1/projects", &["post", "get"][..]),
        ("/v1/projects/{id}", &["get", "patch", "delete"][..]),
        ("/v1/projects/{id}/secrets", &["get"][..]),
        (
            "/v1/projects/{id}/secrets/{key}",
            &["put", "get", "delete"][..],
        ),
        ("/v1/projects/{id}/secrets:import", &["post"][..]),
        ("/v1/projects/{id}/sandbox", &["get", "delete"][..]),
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"][..]),
        ("/v1/webhooks/github", &["post"][..]),
    ] {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} missing");
        }
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "CreateProject",
        "UpdateProject",
        "Project",
        "PutSecret",
        "ImportSecrets",
        "SecretMetadata",
        "SecretValue",
        "ErrorBody",
        "DeliveryReport",
        "WebhookTriggers",
        "SandboxRecord",
        "LiveSandboxState",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} missing");
    }
    assert!(
        schemas["Project"]["properties"]["webhook_triggers"].is_object(),
        "projects show their webhook triggers"
    );
    for schema in ["Project", "CreateProject", "UpdateProject"] {
        assert!(
            schemas[schema]["properties"]["allow_default_branch_push"].is_object(),
            "{schema} has allow_default_branch_push"
        );
    }
    assert_eq!(
        paths["/v1/projects"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateProject"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_openapi_document_describes_every_tool_with_its_arguments() {
    let app = TestApp::spawn().await;

    let doc: Value = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let schemas = &doc["components"]["schemas"];
    let variants = schemas["ToolCall"]["oneOf"].as_array().unwrap();
    let mut tools = Vec::new();
    for variant in variants {
        let [arguments, tag] = variant["allOf"].as_array().unwrap().as_slice() else {
            panic!("{variant}");
        };
        let tool = tag["properties"]["tool"]["enum"][0].as_str().unwrap();
        let name = arguments["$ref"].as_str().unwrap();
        let arguments = &schemas[name.trim_start_matches("#/components/schemas/")];

        assert!(arguments["properties"].is_object(), "{tool}: {arguments}");
        assert!(arguments["description"].is_string(), "{tool}: {arguments}");
        // `tool` sits beside the arguments, so they must not forbid it.
        assert!(arguments.get("additionalProperties").is_none(), "{tool}");
        tools.push(tool);
    }
    assert_eq!(tools, hero_common::tool_call::ToolCall::NAMES);
    assert_eq!(
        schemas["EditFileArgs"]["properties"]["edits"]["items"]["$ref"],
        "#/components/schemas/Edit"
    );
}
