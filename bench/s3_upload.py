"""Uploads a folder into a bucket of an S3 server with PUT requests (boto3),
so the server records each object's ETag as a real S3 client would leave it.

    python bench/s3_upload.py ENDPOINT KEY SECRET BUCKET FOLDER
"""
import os
import sys

import boto3
from botocore.config import Config


def main() -> None:
    endpoint, key, secret, bucket, folder = sys.argv[1:6]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    count = size = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            s3.upload_file(path, bucket, rel)
            count += 1
            size += os.path.getsize(path)
    print(f"uploaded {count} objects, {size / 1e6:.1f} MB, to s3://{bucket}/")
    # The server's own latency, for reading the figures: ranged GETs of one object.
    import time
    key = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["Contents"][0]["Key"]
    for length in (1024, 1024 * 1024):
        times = []
        for _ in range(21):
            start = time.perf_counter()
            s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")["Body"].read()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"S3 server: ranged GET of {length} bytes (boto3): median {times[10]:.1f} ms over 21")


if __name__ == "__main__":
    main()
