"""The trie of valid SIDs over token ids, as flat tensors, so decoding masks every beam in one batched step.

Nodes are numbered breadth-first from the root (0). Edges are stored sorted by (node, token) with their
key `node * vocab + token`, so a step for all beams is one `searchsorted`, and the allowed tokens of all
beams come from one gather over the edge ranges. Every SID ends with an EOS edge into a leaf.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DEAD = -1  # state of a beam that left the trie (cannot happen under the mask; kept finite for safety)


@dataclass
class SidTrie:
    vocab_size: int
    eos_token_id: int
    edge_offsets: torch.Tensor  # (nodes + 1,) CSR offsets into the edge arrays
    edge_tokens: torch.Tensor  # (edges,) token of each edge
    edge_children: torch.Tensor  # (edges,) node each edge leads to
    edge_keys: torch.Tensor  # (edges,) node * vocab + token, sorted
    leaf_items: torch.Tensor  # (nodes,) row of the item a leaf completes, -1 for inner nodes
    item_paths: torch.Tensor  # (items, max_depth + 1) nodes from the root to each item's leaf, -1 padded
    max_depth: int  # tokens of the longest SID, EOS included

    @property
    def nodes(self) -> int:
        return len(self.leaf_items)

    @classmethod
    def build(cls, token_sequences: list[list[int]], vocab_size: int, eos_token_id: int) -> "SidTrie":
        """`token_sequences[row]` are the SID token ids of item `row`; items must not share a sequence."""
        children: list[dict[int, int]] = [{}]
        leaf_of: list[int] = [-1]
        paths = []
        for row, tokens in enumerate(token_sequences):
            node, path = 0, [0]
            for token in list(tokens) + [eos_token_id]:
                nxt = children[node].get(token)
                if nxt is None:
                    nxt = len(children)
                    children[node][token] = nxt
                    children.append({})
                    leaf_of.append(-1)
                node = nxt
                path.append(node)
            if leaf_of[node] != -1:
                raise ValueError("two items share a SID")
            leaf_of[node] = row
            paths.append(path)
        offsets, tokens_flat, children_flat = [0], [], []
        for node_children in children:
            for token in sorted(node_children):
                tokens_flat.append(token)
                children_flat.append(node_children[token])
            offsets.append(len(tokens_flat))
        depth = max(len(p) for p in paths)
        item_paths = torch.tensor([path + [-1] * (depth - len(path)) for path in paths], dtype=torch.long)
        offsets_t = torch.tensor(offsets, dtype=torch.long)
        tokens_t = torch.tensor(tokens_flat, dtype=torch.long)
        owner = torch.repeat_interleave(torch.arange(len(children)), offsets_t[1:] - offsets_t[:-1])
        return cls(vocab_size=vocab_size, eos_token_id=eos_token_id, edge_offsets=offsets_t,
                   edge_tokens=tokens_t, edge_children=torch.tensor(children_flat, dtype=torch.long),
                   edge_keys=owner * vocab_size + tokens_t, leaf_items=torch.tensor(leaf_of, dtype=torch.long),
                   item_paths=item_paths, max_depth=depth - 1)

    def to(self, device: torch.device) -> "SidTrie":
        for name in ("edge_offsets", "edge_tokens", "edge_children", "edge_keys", "leaf_items", "item_paths"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def step(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Next state of every beam after emitting `tokens`; DEAD where that token is not an edge."""
        keys = states.clamp(min=0) * self.vocab_size + tokens
        position = torch.searchsorted(self.edge_keys, keys).clamp(max=len(self.edge_keys) - 1)
        found = (self.edge_keys[position] == keys) & (states >= 0)
        return torch.where(found, self.edge_children[position], torch.full_like(states, DEAD))

    def walk(self, generated: torch.Tensor) -> torch.Tensor:
        """States after the generated tokens (beams, steps), starting from the root."""
        states = torch.zeros(generated.shape[0], dtype=torch.long, device=generated.device)
        for column in range(generated.shape[1]):
            states = self.step(states, generated[:, column])
        return states

    def edges_of(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(beam index, edge index) of every edge leaving each beam's state."""
        alive = states.clamp(min=0)
        starts, ends = self.edge_offsets[alive], self.edge_offsets[alive + 1]
        counts = torch.where(states >= 0, ends - starts, torch.zeros_like(starts))
        beams = torch.repeat_interleave(torch.arange(len(states), device=states.device), counts)
        first = torch.cumsum(counts, 0) - counts
        edges = starts[beams] + torch.arange(len(beams), device=states.device) - first[beams]
        return beams, edges

    def remaining(self, excluded_rows: list[list[int]]) -> torch.Tensor:
        """(prompts, nodes) count of items under each node that a prompt may still return."""
        device = self.item_paths.device
        leaves_under = torch.zeros(self.nodes, dtype=torch.long, device=device)
        paths = self.item_paths[self.item_paths >= 0]
        leaves_under.index_add_(0, paths, torch.ones_like(paths))
        counts = leaves_under.repeat(len(excluded_rows), 1)
        for prompt, rows in enumerate(excluded_rows):
            if rows:
                nodes = self.item_paths[torch.tensor(rows, device=device)]
                nodes = nodes[nodes >= 0]
                counts[prompt].index_add_(0, nodes, -torch.ones_like(nodes))
        return counts
