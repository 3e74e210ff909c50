"""A seeded synthetic e-commerce world with explicit "not interested" feedback and exposure bias.

Each user has latent likes (categories) and a latent dislike profile (categories and visual attributes),
kept as ground truth; a share of items puts most users off whatever their taste (column `off_putting`). A recommender shows feed pages ranked by popularity and learned affinity; when a user
presses "not interested" it stops showing what was rejected (the item, its category, its shop or items that
look alike, by the reason given). That suppression is the exposure bias of method §1: the next negative
depends on what the platform still shows, not only on taste. Some presses are noise (a random irritation)
and some give a non-interest reason (already bought, clickbait price, counterfeit) that import drops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from tqdm import tqdm

from .synthetic_config import DISLIKES_FILE, EVENTS_FILE, ITEMS_FILE, MAPPING_FILE, WorldConfig

CATEGORIES = {
    "Dresses": ["Maxi Dress", "Midi Dress", "Wrap Dress", "Shirt Dress"],
    "Sneakers": ["Running Sneakers", "High-Top Sneakers", "Slip-On Sneakers", "Court Sneakers"],
    "Phone Cases": ["Phone Case", "Wallet Phone Case", "Rugged Phone Case"],
    "Kitchenware": ["Chef Knife", "Frying Pan", "Cutting Board", "Mixing Bowl Set"],
    "Skincare": ["Face Serum", "Night Cream", "Sheet Mask Pack", "Sunscreen"],
    "Toys": ["Building Blocks", "Plush Toy", "Puzzle", "RC Car"],
    "Pet Supplies": ["Cat Tree", "Dog Harness", "Pet Bed", "Chew Toy"],
    "Home Decor": ["Throw Pillow", "Wall Clock", "Vase", "Photo Frame"],
    "Bags": ["Crossbody Bag", "Backpack", "Tote Bag", "Clutch"],
    "Watches": ["Chronograph Watch", "Smartwatch Band", "Dress Watch"],
    "Snacks": ["Spicy Chips", "Dried Mango", "Chocolate Box", "Trail Mix"],
    "Sportswear": ["Yoga Leggings", "Running Jacket", "Gym Shorts", "Sports Bra"],
    "Stationery": ["Gel Pen Set", "Notebook", "Desk Organizer", "Washi Tape"],
    "Lighting": ["Desk Lamp", "LED Strip", "Night Light", "Pendant Lamp"],
    "Bedding": ["Duvet Cover", "Pillowcase Set", "Weighted Blanket", "Fitted Sheet"],
    "Men's Shirts": ["Oxford Shirt", "Flannel Shirt", "Linen Shirt", "Polo Shirt"],
    "Jewelry": ["Pendant Necklace", "Hoop Earrings", "Charm Bracelet", "Signet Ring"],
    "Car Accessories": ["Phone Mount", "Seat Cushion", "Dash Cam", "Air Freshener"],
}
ATTRIBUTES = {
    "color": ["Black", "White", "Red", "Pink", "Neon Green", "Navy", "Beige", "Purple", "Orange", "Gold",
              "Grey", "Leopard Print"],
    "style": ["Cartoon", "Minimalist", "Luxury", "Vintage", "Sporty", "Cute", "Industrial", "Boho"],
    "material": ["Plastic", "Cotton", "Leather", "Polyester", "Wood", "Metal", "Silicone", "Glass"],
}
SHOP_WORDS = (["Lumio", "Nordic", "Panda", "Velvet", "Urban", "Sunny", "Maple", "Orbit", "Coral", "Zen",
               "Atlas", "Pixel", "Willow", "Ember", "Cobalt"],
              ["Home", "Studio", "Goods", "Outlet", "Select", "Workshop", "Mart", "Boutique", "Co.", "Store"])
INTEREST_REASONS = ("this_item", "category", "shop", "image")
NON_INTEREST_REASONS = ("already_bought", "clickbait_price", "counterfeit")
SIMILAR_IMAGE = 0.8  # "image" reason: the platform stops showing items this similar (cosine) to the rejected one

MAPPING = {
    "events": {"user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s",
               "kind": {"column": "action", "negative": ["not_interested"], "positive": ["click", "purchase"],
                        "neutral": ["impression"]},
               "reason": {"column": "reason", "keep": list(INTEREST_REASONS), "drop": list(NON_INTEREST_REASONS)}},
    "items": {"path": ITEMS_FILE, "id": "item_id", "title": "title", "text": ["description", "shop"],
              "category": "category", "vectors": {"image": "image_vector"}},
    "true_dislikes": DISLIKES_FILE,
}


@dataclass
class World:
    items: pd.DataFrame  # item_id, title, description, category, shop, price, image_vector, off_putting
    events: pd.DataFrame  # user_id, item_id, ts (s), action, reason
    true_dislikes: pd.DataFrame  # user_id, facet, value, weight


def generate_world(config: WorldConfig = WorldConfig()) -> World:
    rng = np.random.default_rng(config.seed)
    catalogue = _Catalogue(config, rng)
    users = _Users(config, rng, catalogue)
    events = _simulate(config, rng, catalogue, users)
    return World(items=catalogue.frame(), events=events, true_dislikes=users.profile_frame())


class _Catalogue:
    def __init__(self, config: WorldConfig, rng: np.random.Generator):
        names = list(CATEGORIES)
        self.category_names = names
        n = config.items
        shop_names = sorted({f"{a} {b}" for a in SHOP_WORDS[0] for b in SHOP_WORDS[1]})
        self.shop_names = list(rng.choice(shop_names, size=min(config.shops, len(shop_names)), replace=False))
        shop_categories = [rng.choice(len(names), size=rng.integers(1, 4), replace=False) for _ in self.shop_names]
        self.shop_quality = rng.beta(4, 2, size=len(self.shop_names))
        self.shop = rng.integers(0, len(self.shop_names), size=n)
        self.category = np.array([rng.choice(shop_categories[s]) for s in self.shop])
        self.attribute = {facet: rng.integers(0, len(values), size=n) for facet, values in ATTRIBUTES.items()}
        self.noun = [rng.choice(CATEGORIES[names[c]]) for c in self.category]
        self.popularity = rng.zipf(1.6, size=n).clip(max=200).astype(float)
        base_price = rng.uniform(8, 120, size=len(names))
        self.price = np.round(base_price[self.category] * rng.lognormal(0, 0.4, size=n), 2)
        # Drawn from a generator of its own, so the rest of the world is the same with or without it.
        looks = np.random.default_rng([config.seed, 1])
        chosen = looks.random(n) < config.off_putting_share
        self.off_putting = np.where(chosen, looks.uniform(*config.off_putting_weight, size=n), 0.0)
        self.cheap_look = looks.normal(size=config.image_dim)
        self.image = self._image_vectors(config, rng)
        self.image_similar = (self.image @ self.image.T) >= SIMILAR_IMAGE

    def _image_vectors(self, config: WorldConfig, rng) -> np.ndarray:
        dim, n = config.image_dim, config.items
        parts = [(1.0, rng.normal(size=(len(self.category_names), dim))[self.category])]
        for weight, facet in ((0.8, "color"), (0.6, "style"), (0.4, "material")):
            parts.append((weight, rng.normal(size=(len(ATTRIBUTES[facet]), dim))[self.attribute[facet]]))
        parts.append((1.0, self.off_putting[:, None] * self.cheap_look[None, :]))  # the look shows in the photo
        vectors = sum(w * p / np.sqrt(dim) for w, p in parts) + 0.25 * rng.normal(size=(n, dim)) / np.sqrt(dim)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def frame(self) -> pd.DataFrame:
        rows = []
        for i in range(len(self.category)):
            color, style, material = (ATTRIBUTES[f][self.attribute[f][i]] for f in ("color", "style", "material"))
            shop = self.shop_names[self.shop[i]]
            rows.append({
                "item_id": f"i{i + 1:05d}",
                "title": f"{shop.split()[0]} {style} {color} {material} {self.noun[i]}",
                "description": f"{self.noun[i]} in {color.lower()} {material.lower()}, {style.lower()} style. "
                               f"Price {self.price[i]:.2f}.",
                "category": self.category_names[self.category[i]],
                "shop": shop,
                "price": float(self.price[i]),
                "image_vector": self.image[i].tolist(),
                "off_putting": float(self.off_putting[i]),  # ground truth, not mapped on import
            })
        return pd.DataFrame(rows)


class _Users:
    def __init__(self, config: WorldConfig, rng: np.random.Generator, catalogue: _Catalogue):
        n_categories = len(catalogue.category_names)
        self.ids = [f"u{u + 1:04d}" for u in range(config.users)]
        activity_b = 2.0 * (1 - config.mean_daily_activity) / config.mean_daily_activity
        self.activity = rng.beta(2.0, activity_b, size=config.users)
        self.sensitivity = rng.beta(2.5, 4.0, size=config.users)  # how readily a user presses "not interested"
        self.likes = np.zeros((config.users, n_categories))
        self.disliked_category = np.zeros((config.users, n_categories))
        self.disliked_attribute = {f: np.zeros((config.users, len(v))) for f, v in ATTRIBUTES.items()}
        self.profiles = []
        for u in range(config.users):
            liked = rng.choice(n_categories, size=rng.integers(2, 5), replace=False)
            self.likes[u, liked] = rng.dirichlet(np.ones(len(liked))) * 3
            others = np.setdiff1d(np.arange(n_categories), liked)
            lo, hi = config.disliked_categories
            for c in rng.choice(others, size=rng.integers(lo, hi + 1), replace=False):
                weight = round(float(rng.uniform(0.6, 1.0)), 3)
                self.disliked_category[u, c] = weight
                self.profiles.append((self.ids[u], "category", catalogue.category_names[c], weight))
            lo, hi = config.disliked_attributes
            for _ in range(rng.integers(lo, hi + 1)):
                facet = rng.choice(list(ATTRIBUTES))
                value = rng.integers(len(ATTRIBUTES[facet]))
                if self.disliked_attribute[facet][u, value] == 0:
                    weight = round(float(rng.uniform(0.5, 1.0)), 3)
                    self.disliked_attribute[facet][u, value] = weight
                    self.profiles.append((self.ids[u], str(facet), ATTRIBUTES[facet][value], weight))

    def profile_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.profiles, columns=["user_id", "facet", "value", "weight"])


def _simulate(config: WorldConfig, rng, catalogue: _Catalogue, users: _Users) -> pd.DataFrame:
    start = int(pd.Timestamp(config.start, tz="UTC").timestamp())
    n_items = len(catalogue.category)
    log_popularity = np.log1p(catalogue.popularity)
    records: list[tuple] = []
    for u, user_id in enumerate(tqdm(users.ids, desc="simulating users", unit="user", disable=None)):
        # What the user dislikes about each item, and by which facet most strongly.
        facet_scores = np.stack([users.disliked_category[u][catalogue.category]] + [
            users.disliked_attribute[f][u][catalogue.attribute[f]] for f in ATTRIBUTES] + [catalogue.off_putting])
        dislike = facet_scores.sum(axis=0)
        strongest_facet = facet_scores.argmax(axis=0)  # 0 = category, 1.. = colour, style, material, look
        like = users.likes[u][catalogue.category]
        affinity = np.zeros(len(catalogue.category_names))  # what the recommender has learned from clicks
        suppressed = np.zeros(n_items, dtype=bool)
        suppressed_shop = np.zeros(len(catalogue.shop_names), dtype=bool)
        suppressed_category = np.zeros(len(catalogue.category_names), dtype=bool)
        bought_category = np.zeros(len(catalogue.category_names), dtype=bool)
        for day in range(config.days):
            if rng.random() >= users.activity[u]:
                continue
            score = log_popularity + 1.5 * affinity[catalogue.category] + rng.gumbel(size=n_items)
            score[suppressed | suppressed_shop[catalogue.shop] | suppressed_category[catalogue.category]] = -np.inf
            shown = np.argsort(-score)[:config.impressions_per_session]
            shown = shown[np.isfinite(score[shown])]
            moment = start + day * 86400 + int(rng.integers(7 * 3600, 23 * 3600))
            for item in shown:
                moment += int(rng.integers(4, 40))
                action, reason = _respond(config, rng, u, item, users, catalogue, dislike, strongest_facet,
                                          like, bought_category)
                records.append((user_id, f"i{item + 1:05d}", moment, action, reason))
                category = catalogue.category[item]
                if action == "not_interested" and reason in INTEREST_REASONS:
                    if reason == "category":
                        suppressed_category[category] = True
                    elif reason == "shop":
                        suppressed_shop[catalogue.shop[item]] = True
                    elif reason == "image":
                        suppressed |= catalogue.image_similar[item]
                    suppressed[item] = True
                elif action in ("click", "purchase"):
                    affinity[category] += 0.3
                    if action == "purchase":
                        bought_category[category] = True
                        suppressed[item] = True
    return pd.DataFrame(records, columns=["user_id", "item_id", "ts", "action", "reason"])


def _respond(config, rng, u, item, users, catalogue, dislike, strongest_facet, like, bought_category):
    if dislike[item] > 0 and rng.random() < users.sensitivity[u] * (1 - np.exp(-1.5 * dislike[item])):
        if strongest_facet[item] == 0:
            reason = "category"
        elif catalogue.shop_quality[catalogue.shop[item]] < 0.35 and rng.random() < 0.3:
            reason = "shop"
        else:
            reason = "image" if rng.random() < 0.6 else "this_item"
        return "not_interested", reason
    if rng.random() < config.non_interest_rate:
        if bought_category[catalogue.category[item]]:
            return "not_interested", "already_bought"
        low_quality = catalogue.shop_quality[catalogue.shop[item]] < 0.35
        return "not_interested", "counterfeit" if low_quality else "clickbait_price"
    if rng.random() < config.noise_negative_rate:
        return "not_interested", "this_item"
    click = 1 / (1 + np.exp(-(-2.6 + 1.2 * like[item] - 2.0 * dislike[item])))
    if rng.random() < click:
        return ("purchase" if rng.random() < config.purchase_given_click else "click"), None
    return "impression", None


def write_world(world: World, directory: Path | str) -> Path:
    """Write the world as the files an import reads: events and items as Parquet, profiles as CSV, a mapping."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.register("items", world.items)
    con.register("events", world.events)
    con.execute("COPY (SELECT * REPLACE (CAST(image_vector AS FLOAT[]) AS image_vector) FROM items) TO ? "
                "(FORMAT parquet, COMPRESSION zstd)", [str(directory / ITEMS_FILE)])
    con.execute("COPY (SELECT * FROM events ORDER BY ts, user_id) TO ? (FORMAT parquet, COMPRESSION zstd)",
                [str(directory / EVENTS_FILE)])
    con.close()
    world.true_dislikes.to_csv(directory / DISLIKES_FILE, index=False)
    (directory / MAPPING_FILE).write_text(json.dumps(MAPPING, indent=2) + "\n", encoding="utf-8")
    return directory / EVENTS_FILE
