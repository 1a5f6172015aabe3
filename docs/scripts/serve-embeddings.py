#!/usr/bin/env python3
"""An OpenAI-compatible `/v1/embeddings` endpoint on loopback for a
sentence-transformers model folder (mean pooling, unit length), to measure
`otklik bench assist --embeddings` with a model no packaged server ships.

    pip install torch transformers
    python3 docs/scripts/serve-embeddings.py MODEL_FOLDER 8766

Used with all-mpnet-base-v2 (see docs/decisions.md, "otklik bench assist").
Texts per request are capped and long texts cut at 128 tokens, as the model
was trained.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from transformers import AutoModel, AutoTokenizer

MAX_TEXTS = 256
MAX_BODY = 4 << 20

torch.set_num_threads(2)
folder, port = sys.argv[1], int(sys.argv[2])
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModel.from_pretrained(folder).eval()


def embed(texts):
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            batch = tokenizer(texts[i : i + 64], padding=True, truncation=True,
                              max_length=128, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (hidden * mask).sum(1) / mask.sum(1)
            out += torch.nn.functional.normalize(mean, dim=1).tolist()
    return out


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        if self.path.rstrip("/") != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "not found"}})
        if length > MAX_BODY:
            return self.reply(413, {"error": {"message": "request too large"}})
        try:
            body = json.loads(self.rfile.read(length))
            texts = body["input"]
            texts = [texts] if isinstance(texts, str) else list(texts)
            if len(texts) > MAX_TEXTS or not all(isinstance(t, str) for t in texts):
                raise ValueError("input: up to 256 strings")
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": {"message": str(e)}})
        data = [{"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(embed(texts))]
        self.reply(200, {"object": "list", "data": data, "model": body.get("model", ""),
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
