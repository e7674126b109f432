#!/usr/bin/env python3
"""A resi `command` scraper in plain Python (standard library only).

resi runs it once per assigned zipcode with a JSON request on stdin
({"zipcode", "target", "deadlineMs", "epochId", ...}); it searches the
zipcode on the Zillow JSON API ("zillow-com1" on RapidAPI, or
`resi sim replay`), and prints one listing per line on stdout as JSON with
the original SN46 field names. Exit 75 asks resi to retry later.

Configuration, from the environment:
  ZILLOW_API_URL       the API's base URL (default http://127.0.0.1:8091/)
  RESI_ZILLOW_API_KEY  the key sent as X-RapidAPI-Key
"""

import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

EXIT_TEMPORARY = 75
ORIGIN = "https://www.zillow.com"


def get(base, key, path, params, attempts=4):
    url = urllib.parse.urljoin(base, path) + "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"X-RapidAPI-Key": key})
    wait = 0.5
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.load(response)
        except urllib.error.HTTPError as e:
            if e.code == 429:
                wait = max(wait, float(e.headers.get("Retry-After") or 1))
            elif e.code < 500:
                print(f"{path}: HTTP {e.code}: {e.read()[:200]!r}", file=sys.stderr)
                sys.exit(1)
            print(f"{path}: attempt {attempt}: HTTP {e.code}", file=sys.stderr)
        except (urllib.error.URLError, TimeoutError) as e:
            print(f"{path}: attempt {attempt}: {e}", file=sys.stderr)
        time.sleep(wait)
        wait *= 2
    sys.exit(EXIT_TEMPORARY)


def listing(hit, zipcode, read_at):
    """One search hit in the original field names (listing_date from daysOnZillow)."""
    days = hit.get("daysOnZillow")
    listed = None
    if isinstance(days, int) and days >= 0:
        listed = (read_at.date() - datetime.timedelta(days=days)).isoformat()
    address = hit.get("address") or ""
    tail = address.split()[-1][:5] if address.split() else ""
    url = hit.get("detailUrl") or ""
    return {
        "zpid": str(hit["zpid"]),
        "mls_id": None,
        "address": address,
        "zipcode": tail if tail.isdigit() and len(tail) == 5 else zipcode,
        "price": hit.get("price"),
        "bedrooms": hit.get("bedrooms"),
        "bathrooms": hit.get("bathrooms"),
        "sqft": hit.get("livingArea"),
        "listing_date": listed,
        "property_type": hit.get("propertyType"),
        "listing_status": hit.get("listingStatus"),
        "days_on_market": days,
        "source_url": ORIGIN + url if url.startswith("/") else url,
        "scraped_timestamp": read_at.isoformat().replace("+00:00", "Z"),
    }


def main():
    request = json.loads(sys.stdin.readline())
    zipcode = request["zipcode"]
    base = os.environ.get("ZILLOW_API_URL", "http://127.0.0.1:8091/")
    key = os.environ.get("RESI_ZILLOW_API_KEY", "")
    page, pages = 1, 1
    while page <= pages:
        params = {"location": zipcode}
        if page > 1:
            params["page"] = page
        body = get(base, key, "propertyExtendedSearch", params)
        read_at = datetime.datetime.now(datetime.timezone.utc)
        for hit in body.get("props") or []:
            if hit.get("zpid") is not None:
                print(json.dumps(listing(hit, zipcode, read_at)))
        pages = min(int(body.get("totalPages") or 1), 200)
        if not body.get("props"):
            break
        page += 1
    print(f"{zipcode}: {page - 1} page(s) read", file=sys.stderr)


if __name__ == "__main__":
    main()
