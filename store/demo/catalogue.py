"""The demo retailer's small catalogue: clothing, shoes and accessories with sizes and EUR/GBP prices."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

RETAILER = "Maison Verne"

TOP_SIZES = ("XS", "S", "M", "L", "XL")
FR_DRESS_SIZES = ("34", "36", "38", "40", "42", "44")
TROUSER_SIZES = ("36", "38", "40", "42", "44", "46")
SHOE_SIZES_WOMEN = ("36", "37", "38", "39", "40", "41")
SHOE_SIZES_MEN = ("40", "41", "42", "43", "44", "45", "46")


@dataclass(frozen=True)
class Product:
    sku: str
    name_fr: str
    name_en: str
    category: str  # clothing | shoes | accessories
    size_kind: str | None  # top | dress | trousers | shoes | None (one size)
    gender: str  # f | m | u
    brand: str
    price_eur: Decimal
    price_gbp: Decimal

    def name(self, language: str) -> str:
        return self.name_fr if language == "fr" else self.name_en

    def price(self, currency: str) -> Decimal:
        return self.price_gbp if currency == "GBP" else self.price_eur


def _p(sku, fr, en, category, size_kind, gender, brand, eur, gbp) -> Product:
    return Product(sku=sku, name_fr=fr, name_en=en, category=category, size_kind=size_kind, gender=gender, brand=brand,
                   price_eur=Decimal(eur), price_gbp=Decimal(gbp))


PRODUCTS: tuple[Product, ...] = (
    _p("MV-MAN-101", "Manteau en laine", "Wool coat", "clothing", "top", "u", "Maison Verne", "289.00", "249.00"),
    _p("MV-TRE-102", "Trench coton", "Cotton trench coat", "clothing", "top", "u", "Maison Verne", "229.00", "199.00"),
    _p("MV-PUL-103", "Pull col rond en mérinos", "Merino crew-neck jumper", "clothing", "top", "u", "Maison Verne", "89.00", "79.00"),
    _p("MV-CAR-104", "Cardigan en cachemire", "Cashmere cardigan", "clothing", "top", "f", "Atelier Nord", "179.00", "155.00"),
    _p("MV-CHE-105", "Chemise en lin", "Linen shirt", "clothing", "top", "m", "Maison Verne", "69.00", "59.00"),
    _p("MV-CHE-106", "Chemise Oxford", "Oxford shirt", "clothing", "top", "m", "Harlow & Co", "59.00", "49.00"),
    _p("MV-BLO-107", "Blouse en soie", "Silk blouse", "clothing", "top", "f", "Atelier Nord", "119.00", "99.00"),
    _p("MV-TSH-108", "T-shirt coton bio", "Organic cotton T-shirt", "clothing", "top", "u", "Maison Verne", "29.00", "25.00"),
    _p("MV-ROB-109", "Robe portefeuille", "Wrap dress", "clothing", "dress", "f", "Atelier Nord", "139.00", "119.00"),
    _p("MV-ROB-110", "Robe en lin", "Linen dress", "clothing", "dress", "f", "Maison Verne", "99.00", "85.00"),
    _p("MV-JUP-111", "Jupe plissée", "Pleated skirt", "clothing", "dress", "f", "Atelier Nord", "79.00", "69.00"),
    _p("MV-PAN-112", "Pantalon chino", "Chino trousers", "clothing", "trousers", "u", "Harlow & Co", "79.00", "69.00"),
    _p("MV-JEA-113", "Jean droit brut", "Straight raw denim jeans", "clothing", "trousers", "u", "Denim Rivage", "99.00", "85.00"),
    _p("MV-PAN-114", "Pantalon large en laine", "Wide-leg wool trousers", "clothing", "trousers", "f", "Atelier Nord", "129.00", "109.00"),
    _p("MV-VES-115", "Veste de costume", "Tailored blazer", "clothing", "top", "u", "Harlow & Co", "249.00", "215.00"),
    _p("MV-PAR-116", "Parka imperméable", "Waterproof parka", "clothing", "top", "u", "Denim Rivage", "199.00", "169.00"),
    _p("MV-BAS-201", "Baskets cuir blanc", "White leather trainers", "shoes", "shoes", "u", "Pas Léger", "129.00", "109.00"),
    _p("MV-BOT-202", "Bottines Chelsea", "Chelsea boots", "shoes", "shoes", "u", "Pas Léger", "189.00", "165.00"),
    _p("MV-DER-203", "Derbies en cuir", "Leather derby shoes", "shoes", "shoes", "m", "Harlow & Co", "169.00", "145.00"),
    _p("MV-BAL-204", "Ballerines", "Ballet flats", "shoes", "shoes", "f", "Pas Léger", "99.00", "85.00"),
    _p("MV-ESC-205", "Escarpins daim", "Suede court shoes", "shoes", "shoes", "f", "Atelier Nord", "149.00", "129.00"),
    _p("MV-SAN-206", "Sandales cuir", "Leather sandals", "shoes", "shoes", "u", "Pas Léger", "89.00", "75.00"),
    _p("MV-SAC-301", "Sac cabas en cuir", "Leather tote bag", "accessories", None, "f", "Maison Verne", "249.00", "215.00"),
    _p("MV-SAC-302", "Sac bandoulière", "Crossbody bag", "accessories", None, "u", "Atelier Nord", "159.00", "139.00"),
    _p("MV-ECH-303", "Écharpe en cachemire", "Cashmere scarf", "accessories", None, "u", "Maison Verne", "119.00", "99.00"),
    _p("MV-CEI-304", "Ceinture cuir", "Leather belt", "accessories", None, "u", "Harlow & Co", "59.00", "49.00"),
    _p("MV-BON-305", "Bonnet côtelé", "Ribbed beanie", "accessories", None, "u", "Denim Rivage", "35.00", "29.00"),
    _p("MV-POR-306", "Portefeuille cuir", "Leather wallet", "accessories", None, "u", "Maison Verne", "79.00", "69.00"),
    _p("MV-FOU-307", "Foulard en soie", "Silk square scarf", "accessories", None, "f", "Atelier Nord", "89.00", "75.00"),
    _p("MV-GAN-308", "Gants en cuir", "Leather gloves", "accessories", None, "u", "Maison Verne", "69.00", "59.00"),
)

BRANDS = tuple(sorted({product.brand for product in PRODUCTS}))


def products_for(gender: str) -> tuple[Product, ...]:
    """Products a customer of this gender ("f"/"m") plausibly buys for themselves."""
    return tuple(product for product in PRODUCTS if product.gender in ("u", gender))


def size_choices(size_kind: str, gender: str) -> tuple[str, ...]:
    if size_kind == "shoes":
        return SHOE_SIZES_WOMEN if gender == "f" else SHOE_SIZES_MEN
    if size_kind == "dress":
        return FR_DRESS_SIZES
    if size_kind == "trousers":
        return TROUSER_SIZES
    return TOP_SIZES
