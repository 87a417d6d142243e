#!/usr/bin/env python3
"""Reference BERT (uncased) tokenizer, written from the algorithm in Python.

It exists to check runtime/data/tokenizer.ts against an implementation that
shares no code with it: this one uses Python's own `unicodedata` and
`str.lower()`, the TypeScript one uses regex Unicode properties and
`String.prototype.toLowerCase`. Python has no `transformers` package here, so
the algorithm is that of google-research/bert `tokenization.py` with HF
transformers' one deviation (`_is_control` drops every "C*" category).

With --data-dir, writes for every dev example of the staged GLUE tasks the
WordPiece ids of each sentence and the encoding of the example ([CLS] a [SEP]
b [SEP], token type ids) truncated "longest_first" to --max-length. With
--strings (a JSON list of strings), also writes the ids of each string:

  python3 bench/tokenizer_reference.py --vocab VOCAB --data-dir DIR --out OUT.json
  python3 bench/tokenizer_reference.py --vocab VOCAB --strings IN.json --out OUT.json
"""

import argparse
import csv
import json
import sys
import unicodedata

# task: (file under data dir, has header, column of sentence a, column of b or None)
TASKS = {
    "CoLA": ("CoLA/dev.tsv", False, 3, None),
    "SST-2": ("SST-2/dev.tsv", True, 0, None),
    "MRPC": ("MRPC/dev.tsv", True, 3, 4),
    "STS-B": ("STS-B/dev.tsv", True, 7, 8),
    "RTE": ("RTE/dev.tsv", True, 1, 2),
}


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokenize(text):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_whitespace(ch):
            cleaned.append(" ")
        elif is_cjk(cp):
            cleaned.append(" " + ch + " ")
        else:
            cleaned.append(ch)
    tokens = []
    for word in "".join(cleaned).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(ch for ch in word if unicodedata.category(ch) != "Mn")
        current = ""
        for ch in word:
            if is_punctuation(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
    return tokens


class WordPiece:
    def __init__(self, vocab_text, max_chars=100):
        lines = vocab_text.split("\n")
        if lines[-1] == "":
            lines.pop()
        self.vocab = {token.rstrip("\r"): index for index, token in enumerate(lines)}
        self.max_chars = max_chars
        self.unk = self.vocab["[UNK]"]

    def ids(self, token):
        if len(token) > self.max_chars:
            return [self.unk]
        out = []
        start = 0
        while start < len(token):
            end = len(token)
            found = None
            while start < end:
                piece = token[start:end] if start == 0 else "##" + token[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            out.append(found)
            start = end
        return out

    def tokenize(self, text):
        return [i for token in basic_tokenize(text) for i in self.ids(token)]


def encode(wp, a, b, max_length):
    a, b = list(a), (None if b is None else list(b))
    budget = max_length - (2 if b is None else 3)
    # The truncation loop itself, not a closed form, so the TS closed form is checked.
    while len(a) + (0 if b is None else len(b)) > budget:
        if b is None or len(a) > len(b):
            a.pop()
        else:
            b.pop()
    cls, sep = wp.vocab["[CLS]"], wp.vocab["[SEP]"]
    ids = [cls] + a + [sep]
    types = [0] * len(ids)
    if b is not None:
        ids += b + [sep]
        types += [1] * (len(b) + 1)
    return ids, types


def read_rows(path, header):
    with open(path, "r", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quotechar=None))
    return rows[1:] if header else rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--strings")
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    with open(args.vocab, "r", encoding="utf-8") as f:
        wp = WordPiece(f.read())
    result = {"maxLength": args.max_length, "tasks": {}}
    if args.strings:
        with open(args.strings, "r", encoding="utf-8") as f:
            result["strings"] = [wp.tokenize(text) for text in json.load(f)]
    for task, (file, header, col_a, col_b) in (TASKS.items() if args.data_dir else []):
        examples = []
        for row in read_rows(f"{args.data_dir}/{file}", header):
            a = wp.tokenize(row[col_a])
            b = None if col_b is None else wp.tokenize(row[col_b])
            ids, types = encode(wp, a, b, args.max_length)
            examples.append({"a": a, "b": b, "inputIds": ids, "tokenTypeIds": types})
        result["tasks"][task] = examples
        print(f"{task}: {len(examples)} dev examples", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
