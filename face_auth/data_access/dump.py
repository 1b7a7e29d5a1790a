"""Carry all data between two servers (the embedded one and MongoDB): one JSON line per
document, in MongoDB Extended JSON so ObjectIds and dates survive."""

from pathlib import Path

from bson import json_util

from face_auth.data_access.database import COLLECTIONS, Database
from face_auth.data_access.errors import translate_unavailable


@translate_unavailable
def export_jsonl(database: Database, path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path, "w", encoding="utf-8") as out:
        for name in COLLECTIONS:
            counts[name] = 0
            for document in database.db[name].find():
                out.write(json_util.dumps({"collection": name, "document": document}) + "\n")
                counts[name] += 1
    return counts


@translate_unavailable
def import_jsonl(database: Database, path: Path) -> dict[str, int]:
    """Insert or replace each document by _id, so importing twice changes nothing."""
    counts = dict.fromkeys(COLLECTIONS, 0)
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            record = json_util.loads(line)
            name, document = record.get("collection"), record.get("document")
            if name not in counts or not isinstance(document, dict) or "_id" not in document:
                raise ValueError(f"{path}:{number}: not a face_auth export line")
            database.db[name].replace_one({"_id": document["_id"]}, document, upsert=True)
            counts[name] += 1
    return counts
