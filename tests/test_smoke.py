def test_demo_catalogue_lists_exactly_the_certified_products(client, demo):
    body = client.get("/storefront/v1/products?limit=50").get_json()
    names = {p["name"] for p in body["results"]}
    assert body["total"] == 7 == len(names)
    assert "Rượu nhung nai Hiếu Liêm" not in names
    assert "Bánh tét đặc sản Trần Gia" not in names
    assert "Bưởi da xanh Bình Lợi" in names
