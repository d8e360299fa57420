"""The four Bedrock Runtime operations through boto3, as an app would call them.

The endpoint comes from AWS_ENDPOINT_URL_BEDROCK_RUNTIME (boto3 reads it itself), credentials and
region from the usual AWS_* variables. Prints one JSON document: each operation's result without
its ResponseMetadata (request ids differ between runs), streams as the list of their events.
Used by test/integration/bedrockClients.test.ts, once against the fake Bedrock directly and once
through the sidecar; the two outputs must be identical.
"""
import base64
import json
import sys

import boto3
from botocore.config import Config

MODEL = sys.argv[1] if len(sys.argv) > 1 else "anthropic.claude-3-sonnet-20240229-v1:0"
client = boto3.client("bedrock-runtime", config=Config(retries={"max_attempts": 1}))
messages = [{"role": "user", "content": [{"text": "Tell me a joke about opentelemetry"}]}]


def without_metadata(result):
    return {key: value for key, value in result.items() if key != "ResponseMetadata"}


out = {}
out["converse"] = without_metadata(client.converse(modelId=MODEL, messages=messages))
stream = client.converse_stream(modelId=MODEL, messages=messages)
out["converse_stream"] = [event for event in stream["stream"]]
invoke_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "messages": [{"role": "user", "content": [{"type": "text", "text": "Tell me a joke"}]}]})
invoked = client.invoke_model(modelId=MODEL, body=invoke_body, contentType="application/json")
out["invoke_model"] = {"contentType": invoked["contentType"], "body": json.loads(invoked["body"].read())}
streamed = client.invoke_model_with_response_stream(modelId=MODEL, body=invoke_body, contentType="application/json")
out["invoke_model_with_response_stream"] = [json.loads(event["chunk"]["bytes"]) for event in streamed["body"]]
json.dump(out, sys.stdout, default=str, sort_keys=True)
