"""PyTorch fp32 fine-tuning of a BERT ONNX encoder on a GLUE task: the baseline tessera races.

The encoder's weights are read from the ONNX file (the MatMul weights by their
node names), loaded into a plain PyTorch BERT (no `transformers`), checked
against the model's reference outputs, then fine-tuned with AdamW and a linear
schedule exactly as HF `run_glue.py` does, with a classification or regression
head on the pooler. Tokenisation is bench/tokenizer_reference.py's, which the
test suite checks equal to tessera's own.

Run with Debian's python3-torch (and python3-onnx, libopenblas0-pthread):

    /usr/bin/python3 bench/pytorch_finetune.py --task RTE --epochs 3 --seed 1 --out runs/torch-rte.json
"""

import argparse
import json
import math
import os
import random
import resource
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tokenizer_reference import WordPiece, encode, read_rows  # noqa: E402

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")

# task: (train file, dev file, header, sentence a col, sentence b col, label col, labels or None for regression)
TASKS = {
    "CoLA": ("CoLA/train.tsv", "CoLA/dev.tsv", False, 3, None, 1, ["0", "1"]),
    "SST-2": ("SST-2/train.tsv", "SST-2/dev.tsv", True, 0, None, 1, ["0", "1"]),
    "MRPC": ("MRPC/train.tsv", "MRPC/dev.tsv", True, 3, 4, 0, ["0", "1"]),
    "STS-B": ("STS-B/train.tsv", "STS-B/dev.tsv", True, 7, 8, 9, None),
    "RTE": ("RTE/train.tsv", "RTE/dev.tsv", True, 1, 2, 3, ["entailment", "not_entailment"]),
}

# The ONNX MatMul node that holds each linear's weight (stored [in, out]).
LINEARS = {
    "attention.self.query": "attention/self/query/MatMul",
    "attention.self.key": "attention/self/key/MatMul",
    "attention.self.value": "attention/self/value/MatMul",
    "attention.output.dense": "attention/output/dense/MatMul",
    "intermediate.dense": "intermediate/dense/MatMul",
    "output.dense": "output/dense/MatMul",
}


def state_dict_from_onnx(path, layers):
    """HF-named tensors from an encoder.onnx exported by torch.onnx."""
    model = onnx.load(path)
    inits = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    state = {k: v for k, v in inits.items() if k.startswith("bert.")}
    by_node = {n.name: n for n in model.graph.node}
    for i in range(layers):
        for name, node in LINEARS.items():
            weight = next(x for x in by_node[f"/bert/encoder/layer.{i}/{node}"].input if x in inits)
            state[f"bert.encoder.layer.{i}.{name}.weight"] = inits[weight].t().contiguous()
    return state


class Layer(nn.Module):
    def __init__(self, h, heads, ffn, p):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_ln = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.ffn1, self.ffn2, self.out_ln = nn.Linear(h, ffn), nn.Linear(ffn, h), nn.LayerNorm(h, eps=1e-12)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        b, s, h = x.shape
        split = lambda t: t.view(b, s, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + mask
        context = (self.drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_ln(x + self.drop(self.attn_out(context)))
        return self.out_ln(x + self.drop(self.ffn2(nn.functional.gelu(self.ffn1(x)))))


class Bert(nn.Module):
    def __init__(self, config, outputs):
        super().__init__()
        h, p = config["hidden_size"], config["hidden_dropout_prob"]
        self.word = nn.Embedding(config["vocab_size"], h)
        self.position = nn.Embedding(config["max_position_embeddings"], h)
        self.token_type = nn.Embedding(config["type_vocab_size"], h)
        self.emb_ln, self.drop = nn.LayerNorm(h, eps=1e-12), nn.Dropout(p)
        heads, ffn = config["num_attention_heads"], config["intermediate_size"]
        self.layers = nn.ModuleList(Layer(h, heads, ffn, p) for _ in range(config["num_hidden_layers"]))
        self.pooler, self.head = nn.Linear(h, h), nn.Linear(h, outputs)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def encode(self, ids, types, mask):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.emb_ln(self.word(ids) + self.position(positions) + self.token_type(types)))
        additive = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, additive)
        return x, torch.tanh(self.pooler(x[:, 0]))

    def forward(self, ids, types, mask):
        return self.head(self.drop(self.encode(ids, types, mask)[1]))

    def load_hf(self, state):
        rename = {
            "bert.embeddings.word_embeddings.weight": self.word.weight,
            "bert.embeddings.position_embeddings.weight": self.position.weight,
            "bert.embeddings.token_type_embeddings.weight": self.token_type.weight,
            "bert.embeddings.LayerNorm.weight": self.emb_ln.weight,
            "bert.embeddings.LayerNorm.bias": self.emb_ln.bias,
            "bert.pooler.dense.weight": self.pooler.weight,
            "bert.pooler.dense.bias": self.pooler.bias,
        }
        names = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
                 "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_ln",
                 "intermediate.dense": "ffn1", "output.dense": "ffn2", "output.LayerNorm": "out_ln"}
        for i, layer in enumerate(self.layers):
            for hf, ours in names.items():
                for kind in ("weight", "bias"):
                    rename[f"bert.encoder.layer.{i}.{hf}.{kind}"] = getattr(getattr(layer, ours), kind)
        with torch.no_grad():
            for name, param in rename.items():
                param.copy_(state[name])


def check_reference(model, model_dir):
    """The loaded weights reproduce the exporter's own outputs (reference_io.json)."""
    ref = json.load(open(os.path.join(model_dir, "reference_io.json")))
    tensor = lambda k: torch.tensor(ref[k]["data"]).view(ref[k]["shape"])  # noqa: E731
    model.eval()
    with torch.no_grad():
        hidden, pooled = model.encode(tensor("input_ids"), tensor("token_type_ids"), tensor("attention_mask"))
    for name, ours in (("last_hidden_state", hidden), ("pooler_output", pooled)):
        want = tensor(name)
        error = float((ours - want).abs().max() / want.abs().max())
        if error > 1e-4:
            raise SystemExit(f"weights mapped wrongly: {name} relative error {error:.2e}")


def load(task, wp, max_length, split):
    train, dev, header, col_a, col_b, col_label, labels = TASKS[task]
    rows = read_rows(os.path.join(SHARED, "data", train if split == "train" else dev), header)
    out = []
    for row in rows:
        ids, types = encode(wp, wp.tokenize(row[col_a]), None if col_b is None else wp.tokenize(row[col_b]), max_length)
        label = float(row[col_label]) if labels is None else labels.index(row[col_label])
        out.append((ids, types, label))
    return out


def batches(examples, size, shuffle, rng):
    order = list(range(len(examples)))
    if shuffle:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chunk = [examples[i] for i in order[start:start + size]]
        longest = max(len(e[0]) for e in chunk)
        pad = lambda xs: [x + [0] * (longest - len(x)) for x in xs]  # noqa: E731
        ids = torch.tensor(pad([e[0] for e in chunk]))
        types = torch.tensor(pad([e[1] for e in chunk]))
        mask = torch.tensor(pad([[1] * len(e[0]) for e in chunk]))
        yield ids, types, mask, torch.tensor([e[2] for e in chunk]), int(mask.sum())


def average_ranks(x):
    """Ranks with ties given their average rank, as Spearman's rho needs."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    sorted_x = np.asarray(x)[order]
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2
        start = end + 1
    return ranks


def metrics(task, preds, golds):
    preds, golds = np.array(preds), np.array(golds)
    if task == "STS-B":
        return {"pearson": float(np.corrcoef(preds, golds)[0, 1]),
                "spearman": float(np.corrcoef(average_ranks(preds), average_ranks(golds))[0, 1])}
    out = {"accuracy": float((preds == golds).mean())}
    if task == "MRPC":
        tp = float(((preds == 1) & (golds == 1)).sum())
        out["f1"] = 2 * tp / max(float((preds == 1).sum() + (golds == 1).sum()), 1.0)
    if task == "CoLA":
        tp, tn = float(((preds == 1) & (golds == 1)).sum()), float(((preds == 0) & (golds == 0)).sum())
        fp, fn = float(((preds == 1) & (golds == 0)).sum()), float(((preds == 0) & (golds == 1)).sum())
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        out["mcc"] = (tp * tn - fp * fn) / den if den > 0 else 0.0
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True, choices=sorted(TASKS))
    parser.add_argument("--model-dir", default=os.path.join(SHARED, "models", "tessera-bert-mini"))
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--warmup-ratio", type=float, default=0.0)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-train-samples", "--limit", dest="limit", type=int, default=0,
                        help="use only the first N training examples")
    parser.add_argument("--dropout", type=float, default=None,
                        help="dropout probability (default: the model config's; tessera trains without dropout for now)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    config = json.load(open(os.path.join(args.model_dir, "config.json")))
    if args.dropout is not None:
        config["hidden_dropout_prob"] = args.dropout
    wp = WordPiece(open(os.path.join(args.model_dir, "vocab.txt"), encoding="utf-8").read())
    regression = TASKS[args.task][6] is None
    model = Bert(config, 1 if regression else len(TASKS[args.task][6]))
    model.load_hf(state_dict_from_onnx(os.path.join(args.model_dir, "encoder.onnx"), config["num_hidden_layers"]))
    check_reference(model, args.model_dir)
    train = load(args.task, wp, args.max_seq_length, "train")
    train = train[: args.limit] if args.limit > 0 else train
    dev = load(args.task, wp, args.max_seq_length, "dev")
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "ln" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "ln" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.learning_rate, eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    warmup = int(total * args.warmup_ratio)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    loss_fn = nn.MSELoss() if regression else nn.CrossEntropyLoss()
    history, step, tokens, train_seconds = [], 0, 0, 0.0
    while step < total:
        model.train()
        start = time.perf_counter()
        for ids, types, mask, labels, n in batches(train, args.batch_size, True, rng):
            if step >= total:
                break
            out = model(ids, types, mask)
            loss = loss_fn(out.squeeze(-1), labels.float()) if regression else loss_fn(out, labels.long())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            schedule.step()
            step, tokens = step + 1, tokens + n
            if step % 50 == 0:
                elapsed = train_seconds + time.perf_counter() - start
                print(f"step {step}/{total} loss {loss.item():.4f} {tokens / elapsed:.0f} tokens/s "
                      f"ETA {(total - step) * elapsed / step:.0f}s", file=sys.stderr)
        train_seconds += time.perf_counter() - start
        model.eval()
        preds, golds = [], []
        with torch.no_grad():
            for ids, types, mask, labels, _ in batches(dev, 64, False, rng):
                out = model(ids, types, mask)
                preds += (out.squeeze(-1) if regression else out.argmax(-1)).tolist()
                golds += labels.tolist()
        history.append({"step": step, "dev": metrics(args.task, preds, golds)})
        print(json.dumps(history[-1]), file=sys.stderr)
    result = {"task": args.task, "args": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "train_tokens": tokens, "train_seconds": train_seconds, "tokens_per_second": tokens / train_seconds,
              "history": history, "dev": history[-1]["dev"],
              "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    json.dump(result, open(args.out, "w"), indent=1)
    print(json.dumps({"task": args.task, "dev": result["dev"], "tokens_per_second": round(result["tokens_per_second"])}))


if __name__ == "__main__":
    main()
